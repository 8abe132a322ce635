using DynRec.Data;
using DynRec.Data.Synthetic;

namespace DynRec.Tests.Data;

/// <summary>
/// KuaiRand-27K ships its side tables in parts (video_features_statistic_27k_part1..3.csv,
/// each with its own header): a folder whose tables are split into part files must load
/// exactly as the same folder with one file per table.
/// </summary>
[TestFixture]
public class PartFilesTests
{
    private static readonly SyntheticConfig Small = new() { Seed = 11, Users = 80, Videos = 70, Days = 4, Rows = 3000 };
    private string _whole = null!;
    private string _split = null!;

    [SetUp]
    public void Generate()
    {
        _whole = DataFixtures.NewTempDir();
        SyntheticGenerator.Generate(_whole, Small);
        _split = DataFixtures.NewTempDir();
        foreach (var file in Directory.GetFiles(_whole)) File.Copy(file, Path.Combine(_split, Path.GetFileName(file)));
    }

    [TearDown]
    public void Remove()
    {
        Directory.Delete(_whole, recursive: true);
        Directory.Delete(_split, recursive: true);
    }

    /// <summary>Replaces the one file matching <paramref name="pattern"/> by <paramref name="parts"/> files
    /// ..._part1.csv, ... of consecutive data rows, each with the header.</summary>
    private string[] SplitInto(string pattern, int parts)
    {
        var source = Directory.GetFiles(_split, pattern).Single();
        var lines = File.ReadAllLines(source);
        var rows = lines.Skip(1).ToArray();
        var names = new string[parts];
        for (var p = 0; p < parts; p++)
        {
            var from = rows.Length * p / parts;
            var to = rows.Length * (p + 1) / parts;
            names[p] = source[..^4] + $"_part{p + 1}.csv";
            File.WriteAllLines(names[p], rows[from..to].Prepend(lines[0]));
        }
        File.Delete(source);
        return names;
    }

    private static void AssertSameData(DataSplit expected, DataSplit actual)
    {
        Assert.That(actual.Schema.SparseFields, Is.EqualTo(expected.Schema.SparseFields));
        foreach (var (e, a) in new[] { (expected.Train, actual.Train), (expected.Test, actual.Test) })
        {
            Assert.That(a.Rows, Is.EqualTo(e.Rows));
            for (var f = 0; f < e.Schema.SparseFields.Count; f++)
                Assert.That(a.Column(f), Is.EqualTo(e.Column(f)), e.Schema.SparseFields[f].Name);
            for (var t = 0; t < e.Schema.Tasks.Count; t++)
                Assert.That(a.LabelColumn(t), Is.EqualTo(e.LabelColumn(t)));
            for (var r = 0; r < e.Rows; r++)
                Assert.That(a.SequenceOf(r).ToArray(), Is.EqualTo(e.SequenceOf(r).ToArray()));
        }
    }

    [Test]
    public void SideTablesSplitIntoPartsLoadLikeOneFile()
    {
        SplitInto("video_features_statistic_*.csv", 3);
        SplitInto("video_features_basic_*.csv", 2);
        SplitInto("user_features_*.csv", 2);
        var whole = DataFixtures.LoadUncached(_whole);
        var parts = DataFixtures.LoadUncached(_split);
        Assert.That(parts.Schema.IndexOf("play_cnt"), Is.GreaterThanOrEqualTo(0), "statistic columns come from the parts");
        AssertSameData(whole, parts);
    }

    [Test]
    public void AnIdRepeatedInALaterPartNamesBothFiles()
    {
        var names = SplitInto("video_features_statistic_*.csv", 2);
        var firstRow = File.ReadLines(names[0]).ElementAt(1);
        File.AppendAllLines(names[1], new[] { firstRow });
        var lineNumber = File.ReadAllLines(names[1]).Length;
        var videoId = firstRow.Split(',')[0];
        var e = Assert.Throws<DataFormatException>(() => DataFixtures.LoadUncached(_split))!;
        Assert.That(e.Message, Is.EqualTo(
            $"{names[1]}, line {lineNumber}, column 'video_id': duplicate video_id {videoId} (first in {Path.GetFileName(names[0])})"));
    }

    [Test]
    public void TheCacheKeyCoversEveryPart()
    {
        var names = SplitInto("video_features_statistic_*.csv", 2);
        var options = new LoadOptions { CacheDirectory = _split };
        Assert.That(DataSource.Load(_split, options).FromCache, Is.False);
        Assert.That(DataSource.Load(_split, options).FromCache, Is.True);
        File.AppendAllText(names[1], "");  // touch: a changed part must invalidate the cache
        File.SetLastWriteTimeUtc(names[1], DateTime.UtcNow.AddMinutes(1));
        Assert.That(DataSource.Load(_split, options).FromCache, Is.False);
    }
}
