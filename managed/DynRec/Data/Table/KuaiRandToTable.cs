using System.Globalization;
using DynRec.Data.KuaiRand;
using DynRec.Training;
using nietras.SeparatedValues;

namespace DynRec.Data.Table;

/// <summary>
/// Writes a KuaiRand folder (or the synthetic set) as a table folder: each log file becomes one CSV
/// of the rows FunRec's recipe keeps (tabs 0, 1, 2, 4, 6) with their context (`hourmin` as its hour)
/// and `time_ms` (the click history's order, declared as the table's history: the last 20 clicks),
/// users.csv and videos.csv the user and item tables of the users and videos they show (the same
/// columns the KuaiRand loader uses, `tag` as its first tag), plus a <see cref="TableSchema.FileName"/>
/// that declares them. It shows the table format
/// on data whose KuaiRand form the project already reads, and lets the two loaders be compared.
/// The statistic file has no table counterpart and is left out.
/// </summary>
public static class KuaiRandToTable
{
    private static readonly string[] UserFeatures = KuaiRandColumns.UserCategoricals;
    private static readonly string[] ItemFeatures = { "author_id", "video_type", "upload_type", "visible_status", "server_width",
        "server_height", "music_type", "tag", "video_duration" };
    private static readonly string[] ContextFeatures = { "hour", "is_rand" };

    /// <summary>Converts <paramref name="kuaiRandFolder"/> into <paramref name="outFolder"/>; returns the rows written.</summary>
    public static long Convert(string kuaiRandFolder, string outFolder, Action<string>? log = null)
    {
        var sources = KuaiRandSources.Find(kuaiRandFolder);
        Directory.CreateDirectory(outFolder);
        var users = ReadSide(sources.UserFeatures, "user_id", UserFeatures);
        var videos = ReadSide(sources.VideoBasic, "video_id", ItemFeatures);
        var shownUsers = new HashSet<long>();
        var shownVideos = new HashSet<long>();
        var files = new List<string>();
        long written = 0;
        foreach (var logFile in sources.Logs)
        {
            var name = "table_" + Path.GetFileName(logFile);
            files.Add(name);
            AtomicFile.Write(Path.Combine(outFolder, name), stream =>
            {
                using var csv = CsvSource.Open(logFile, unescape: false);
                var labeled = KuaiRandColumns.Feedback.Any(csv.HasColumn);
                int cUser = csv.Column("user_id"), cVideo = csv.Column("video_id"), cDate = csv.Column("date"),
                    cHourMin = csv.Column("hourmin"), cRand = csv.Column("is_rand"), cTab = csv.Column("tab"), cTime = csv.Column("time_ms");
                var cTasks = labeled ? csv.Columns(KuaiRandColumns.Tasks) : Array.Empty<int>();
                using var text = new StreamWriter(stream, leaveOpen: true);
                using var writer = Sep.New(',').Writer(o => o with { Escape = true }).To(text);
                foreach (var row in csv.Reader)
                {
                    csv.CheckColumnCount(row);
                    var tab = csv.Long(row, cTab);
                    if (RawLog.ScenarioOfTab(tab) < 0) continue;
                    var userId = csv.Long(row, cUser);
                    var videoId = csv.Long(row, cVideo);
                    using var w = writer.NewRow();
                    w["user_id"].Set(userId.ToString(CultureInfo.InvariantCulture));
                    w["video_id"].Set(videoId.ToString(CultureInfo.InvariantCulture));
                    w["tab"].Set(tab.ToString(CultureInfo.InvariantCulture));
                    w["date"].Set(row[cDate].Span);
                    w["time_ms"].Set(csv.IntegralNumber(row, cTime).ToString(CultureInfo.InvariantCulture));
                    for (var t = 0; t < cTasks.Length; t++) w[KuaiRandColumns.Tasks[t]].Set(row[cTasks[t]].Span);
                    w["hour"].Set((csv.Int(row, cHourMin) / 100).ToString(CultureInfo.InvariantCulture));
                    w["is_rand"].Set(row[cRand].Span);
                    shownUsers.Add(userId);
                    shownVideos.Add(videoId);
                    written++;
                }
            });
            log?.Invoke($"wrote {name}");
        }
        // A user or video without a side-table row is left out: the loader gives it missing features.
        WriteTable(Path.Combine(outFolder, "users.csv"), "user_id", UserFeatures, shownUsers, users);
        WriteTable(Path.Combine(outFolder, "videos.csv"), "video_id", ItemFeatures, shownVideos, videos);
        log?.Invoke($"wrote users.csv ({shownUsers.Count(users.ContainsKey):N0} users), videos.csv ({shownVideos.Count(videos.ContainsKey):N0} videos)");
        AtomicFile.WriteAllText(Path.Combine(outFolder, TableSchema.FileName), SchemaYaml(files));
        return written;
    }

    private static void WriteTable(string path, string idColumn, string[] columns, HashSet<long> shown, Dictionary<long, string[]> features) =>
        AtomicFile.Write(path, stream =>
        {
            using var text = new StreamWriter(stream, leaveOpen: true);
            using var writer = Sep.New(',').Writer(o => o with { Escape = true }).To(text);
            foreach (var id in shown.Where(features.ContainsKey).Order())
            {
                using var w = writer.NewRow();
                w[idColumn].Set(id.ToString(CultureInfo.InvariantCulture));
                var values = features[id];
                for (var k = 0; k < columns.Length; k++) w[columns[k]].Set(values[k]);
            }
        });

    private static string SchemaYaml(IEnumerable<string> files)
    {
        static string List(IEnumerable<string> names) => "[" + string.Join(", ", names) + "]";
        return $"""
            # A KuaiRand folder as a table (dynrec data to-table): one row per impression of the kept tabs,
            # the users' and videos' features in their own tables.
            files: {List(files)}
            user_table: users.csv
            item_table: videos.csv
            user: user_id
            item: video_id
            scenario: tab
            date: date
            tasks: {List(KuaiRandColumns.Tasks)}
            features:
              user: {List(UserFeatures)}
              item: {List(ItemFeatures)}
              context: {List(ContextFeatures)}
            numeric: [video_duration]
            persona: [user_id, video_id, author_id]
            history:                 # each row's user's last clicks of earlier dates, as the KuaiRand loader's sequence
              task: is_click
              length: {new LoadOptions().SequenceLength}
              time: time_ms
              name: recent_clicked_videos

            """;
    }

    /// <summary>
    /// A side table's columns as text per id, read as the KuaiRand loader reads them: KuaiRand's
    /// -124 of is_live_streamer as 0, the first of several tags, one-hot cells as they are (missing
    /// stays missing: the table format gives a missing value id 0, where FunRec's recipe fills max + 1).
    /// </summary>
    private static Dictionary<long, string[]> ReadSide(IReadOnlyList<string> paths, string idColumn, string[] columns)
    {
        var table = new Dictionary<long, string[]>();
        foreach (var path in paths)
        {
            using var csv = CsvSource.Open(path, unescape: true);
            var cId = csv.Column(idColumn);
            var cols = csv.Columns(columns);
            foreach (var row in csv.Reader)
            {
                csv.CheckColumnCount(row);
                var values = new string[columns.Length];
                for (var k = 0; k < cols.Length; k++)
                {
                    var s = row[cols[k]].Span.Trim();
                    if (columns[k] == "tag" && s.IndexOf(',') is var comma and >= 0) s = s[..comma].Trim();
                    if (columns[k] == "is_live_streamer" && s.SequenceEqual("-124")) s = "0";
                    values[k] = CsvSource.IsMissing(s) ? "" : s.ToString();
                }
                table[csv.Long(row, cId)] = values;
            }
        }
        return table;
    }
}
