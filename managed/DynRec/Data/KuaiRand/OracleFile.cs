using System.Globalization;
using System.Text;

namespace DynRec.Data.KuaiRand;

/// <summary>
/// oracle_test.csv, written by the synthetic generator: one line per TEST row
/// (kept tab, last date) in log order with the planted true probability of
/// each task. The reader checks that every line matches its test row.
/// </summary>
public static class OracleFile
{
    public static readonly string[] Header = { "user_id", "video_id", "tab", "p_is_click", "p_long_view", "p_is_like" };

    public static string HeaderLine => string.Join(",", Header);

    public static void AppendLine(StringBuilder sb, long userId, long videoId, int tab, double pClick, double pLongView, double pLike)
    {
        var c = CultureInfo.InvariantCulture;
        sb.Append(userId).Append(',').Append(videoId).Append(',').Append(tab).Append(',')
            .Append(((float)pClick).ToString("R", c)).Append(',')
            .Append(((float)pLongView).ToString("R", c)).Append(',')
            .Append(((float)pLike).ToString("R", c)).Append('\n');
    }

    /// <summary>Oracle[task][test row]; throws when the file does not line up with the test rows.</summary>
    internal static float[][] Read(string path, long[] testUsers, long[] testVideos)
    {
        var n = testUsers.Length;
        var p = new[] { new float[n], new float[n], new float[n] };
        using var csv = CsvSource.Open(path, unescape: false);
        var cUser = csv.Column("user_id");
        var cVideo = csv.Column("video_id");
        var cp = new[] { csv.Column("p_is_click"), csv.Column("p_long_view"), csv.Column("p_is_like") };
        var i = 0;
        foreach (var row in csv.Reader)
        {
            csv.CheckColumnCount(row);
            if (i >= n) throw new DataFormatException(path, row.LineNumberFrom, null, $"more lines than the {n} test rows");
            if (csv.Long(row, cUser) != testUsers[i]) throw csv.Bad(row, cUser, $"does not match test row {i} (user_id {testUsers[i]})");
            if (csv.Long(row, cVideo) != testVideos[i]) throw csv.Bad(row, cVideo, $"does not match test row {i} (video_id {testVideos[i]})");
            for (var t = 0; t < 3; t++)
            {
                var v = csv.NumberOrMissing(row, cp[t]);
                if (!(v >= 0 && v <= 1)) throw csv.Bad(row, cp[t], $"{v} is not a probability");
                p[t][i] = (float)v;
            }
            i++;
        }
        if (i != n) throw new DataFormatException(path, 0, null, $"{i} lines for {n} test rows");
        return p;
    }
}
