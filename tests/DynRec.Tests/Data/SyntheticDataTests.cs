using System.Globalization;
using DynRec.Data;
using DynRec.Data.KuaiRand;
using DynRec.Data.Synthetic;

namespace DynRec.Tests.Data;

[TestFixture]
public class SyntheticDataTests
{
    private static readonly SyntheticConfig Small = new() { Seed = 7, Users = 120, Videos = 90, Days = 5, Rows = 6000 };
    private string _dir = null!;
    private DataSplit _split = null!;

    [OneTimeSetUp]
    public void Generate()
    {
        _dir = DataFixtures.NewTempDir();
        SyntheticGenerator.Generate(_dir, Small);
        _split = DataFixtures.LoadUncached(_dir);
    }

    [OneTimeTearDown]
    public void Remove() => Directory.Delete(_dir, recursive: true);

    private static int ScenarioOfTab(long tab) => Array.IndexOf(KuaiRandColumns.KeptTabs, (int)tab);

    private static Dictionary<string, byte[]> Files(string dir) =>
        Directory.GetFiles(dir).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    [Test]
    public void SameSeedGivesIdenticalBytesAndAnotherSeedDoesNot()
    {
        var again = DataFixtures.NewTempDir();
        var other = DataFixtures.NewTempDir();
        try
        {
            SyntheticGenerator.Generate(again, Small);
            SyntheticGenerator.Generate(other, Small with { Seed = 8 });
            var a = Files(_dir).Where(kv => !kv.Key.StartsWith('.')).ToDictionary();
            var b = Files(again);
            Assert.That(b.Keys, Is.EquivalentTo(a.Keys));
            foreach (var (name, bytes) in a) Assert.That(b[name], Is.EqualTo(bytes), name);
            var c = Files(other);
            Assert.That(c.Keys, Is.EquivalentTo(a.Keys));
            Assert.That(c[SyntheticGenerator.LogFileNames(Small)[0]], Is.Not.EqualTo(a[SyntheticGenerator.LogFileNames(Small)[0]]));
        }
        finally
        {
            Directory.Delete(again, recursive: true);
            Directory.Delete(other, recursive: true);
        }
    }

    [Test]
    public void WritesTheRealFileNamesAndHeaders()
    {
        Assert.That(SyntheticGenerator.LogFileNames(Small),
            Is.EqualTo(new[] { "log_standard_4_08_to_4_09_synthetic.csv", "log_standard_4_10_to_4_12_synthetic.csv" }));
        Assert.That(File.ReadLines(Path.Combine(_dir, SyntheticGenerator.LogFileNames(Small)[0])).First(), Is.EqualTo(string.Join(",", KuaiRandColumns.Log)));
        Assert.That(File.ReadLines(Path.Combine(_dir, "user_features_synthetic.csv")).First(), Is.EqualTo(string.Join(",", KuaiRandColumns.User)));
        Assert.That(File.ReadLines(Path.Combine(_dir, "video_features_basic_synthetic.csv")).First(), Is.EqualTo(string.Join(",", KuaiRandColumns.VideoBasic)));
        Assert.That(File.ReadLines(Path.Combine(_dir, "video_features_statistic_synthetic.csv")).First(), Is.EqualTo(string.Join(",", KuaiRandColumns.VideoStatistic)));
        var users = File.ReadAllText(Path.Combine(_dir, "user_features_synthetic.csv"));
        Assert.That(users, Does.Contain(",-124,"), "KuaiRand's -124 in is_live_streamer");
        Assert.That(users, Does.Contain(",,").Or.Contain(",\n"), "empty one-hot cells");
        Assert.That(File.ReadAllText(Path.Combine(_dir, "video_features_basic_synthetic.csv")), Does.Match("\"[0-9]+,[0-9]+\""), "quoted multi-value tags");
    }

    [Test]
    public void LoaderRecoversThePlantedRowCountsAndVocabularies()
    {
        var info = _split.Info;
        Assert.That(info.RowsRead, Is.EqualTo(Small.Rows));
        Assert.That(info.RowsDroppedByTab, Is.InRange(Small.Rows * 0.015, Small.Rows * 0.045), "about 3% of rows fall in dropped tabs");
        Assert.That(_split.Train.Rows + _split.Test.Rows, Is.EqualTo(Small.Rows - info.RowsDroppedByTab));
        Assert.That(info.TestDate, Is.EqualTo(20220412));
        Assert.That(Enumerable.Range(0, _split.Test.Rows).Select(_split.Test.DateOf), Has.All.EqualTo(20220412));
        Assert.That(info.Users, Is.LessThanOrEqualTo(Small.Users).And.GreaterThan(Small.Users * 9 / 10));
        Assert.That(info.Videos, Is.LessThanOrEqualTo(Small.Videos).And.GreaterThan(Small.Videos / 2));
        Assert.That(info.Authors, Is.LessThanOrEqualTo(Small.Authors));
        // Test date holds 1/Days of the rows.
        Assert.That(_split.Test.Rows, Is.InRange(Small.Rows / Small.Days * 0.9, Small.Rows / Small.Days * 1.05));
        var schema = _split.Schema;
        Assert.That(schema["user_active_degree"].VocabularySize, Is.EqualTo(6));  // 5 degrees + padding
        Assert.That(schema["tab"].VocabularySize, Is.EqualTo(6));
        Assert.That(schema["show_cnt"].VocabularySize, Is.EqualTo(11));
        Assert.That(schema["user_id"].VocabularySize - 1, Is.EqualTo(
            Enumerable.Range(0, _split.Train.Rows).Select(_split.Train.UserIdOf).Distinct().Count()));
        Assert.That(DataStats.Of(_split).TrainRowsPerScenario, Has.All.GreaterThan(0));
    }

    [Test]
    public void OracleRowsAlignWithTestRows()
    {
        var test = _split.Test;
        Assert.That(test.Oracle, Is.Not.Null);
        Assert.That(_split.Train.Oracle, Is.Null);
        var lines = File.ReadAllLines(Path.Combine(_dir, KuaiRandSources.OracleFileName)).Skip(1).Select(l => l.Split(',')).ToArray();
        Assert.That(lines, Has.Length.EqualTo(test.Rows));
        var tabs = lines.Select(l => ScenarioOfTab(long.Parse(l[2]))).ToArray();
        Assert.That(tabs, Is.EqualTo(test.ScenarioColumn()));
        for (var r = 0; r < test.Rows; r++)
            Assert.That(test.Oracle![0][r], Is.EqualTo(float.Parse(lines[r][3], CultureInfo.InvariantCulture)));
        // A misaligned oracle file is refused.
        var copy = DataFixtures.NewTempDir();
        try
        {
            foreach (var f in Directory.GetFiles(_dir, "*.csv")) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
            var oracle = Path.Combine(copy, KuaiRandSources.OracleFileName);
            var all = File.ReadAllLines(oracle).ToList();
            (all[1], all[2]) = (all[2], all[1]);
            File.WriteAllText(oracle, string.Join("\n", all) + "\n");
            var e = Assert.Throws<DataFormatException>(() => DataFixtures.LoadUncached(copy))!;
            Assert.That(e.File, Is.EqualTo(oracle));
            Assert.That(e.Line, Is.EqualTo(2));
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Test]
    public void OracleBeatsTheBestTabBlindPredictor()
    {
        // On a set big enough for stable AUCs: the planted truth is learnable and the tab matters.
        var dir = DataFixtures.NewTempDir();
        try
        {
            SyntheticGenerator.Generate(dir, new SyntheticConfig { Seed = 3, Users = 500, Videos = 400, Days = 3, Rows = 60_000 });
            var oracle = DataStats.Of(DataFixtures.LoadUncached(dir)).Oracle!;
            foreach (var task in new[] { "is_click", "long_view", "is_like" })
            {
                Assert.That(oracle.Overall[task], Is.GreaterThan(0.75), task);
                Assert.That(oracle.TabBlindOverall![task], Is.LessThan(oracle.Overall[task] - 0.05), task);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void SequenceMatchesANaiveRecomputationFromTheRawLog()
    {
        // Reference: scan the raw CSV rows (kept tabs) and collect, for each row, the user's clicks on earlier dates.
        var rows = SyntheticGenerator.LogFileNames(Small)
            .SelectMany(f => File.ReadLines(Path.Combine(_dir, f)).Skip(1))
            .Select(l => l.Split(','))
            .Select(c => (User: long.Parse(c[0]), Video: long.Parse(c[1]), Date: int.Parse(c[2]), Time: long.Parse(c[4]),
                Click: c[5] == "1", Tab: ScenarioOfTab(long.Parse(c[18]))))
            .Where(r => r.Tab >= 0).ToArray();
        var videoIdOf = rows.Where(r => r.Date != _split.Info.TestDate).Select(r => r.Video).Distinct().Order()
            .Select((v, i) => (v, i + 1)).ToDictionary(x => x.v, x => x.Item2);
        var train = 0;
        var test = 0;
        foreach (var row in rows)
        {
            var expected = rows.Where(o => o.User == row.User && o.Click && o.Date < row.Date)
                .OrderByDescending(o => o.Date).ThenByDescending(o => o.Time)
                .Take(20).Select(o => videoIdOf[o.Video]).ToList();
            while (expected.Count < 20) expected.Add(0);
            var actual = row.Date == _split.Info.TestDate ? _split.Test.SequenceOf(test++) : _split.Train.SequenceOf(train++);
            Assert.That(actual.ToArray(), Is.EqualTo(expected));
        }
    }

    [Test]
    public void DefaultSyntheticIsGeneratedOnceIntoItsFolder()
    {
        var dir = Path.Combine(DataFixtures.NewTempDir(), "synthetic");
        try
        {
            var config = new SyntheticConfig { Seed = 1, Users = 50, Videos = 40, Days = 3, Rows = 1500 };
            var options = new LoadOptions { SyntheticDirectory = dir, Synthetic = config };
            var first = DataSource.Load(DataSource.SyntheticName, options);
            Assert.That(SyntheticGenerator.IsComplete(dir, config), Is.True);
            var stamp = File.GetLastWriteTimeUtc(Path.Combine(dir, "user_features_synthetic.csv"));
            var second = DataSource.Load(DataSource.SyntheticName, options);
            Assert.That(second.FromCache, Is.True);
            Assert.That(File.GetLastWriteTimeUtc(Path.Combine(dir, "user_features_synthetic.csv")), Is.EqualTo(stamp));
            Assert.That(second.Train.Rows, Is.EqualTo(first.Train.Rows));
            Assert.That(SyntheticGenerator.IsComplete(dir, config with { Seed = 2 }), Is.False);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(dir)!, recursive: true);
        }
    }

    [Test]
    public void InvalidConfigIsRefused()
    {
        Assert.Throws<ArgumentException>(() => SyntheticGenerator.Generate(_dir + "-x", Small with { Days = 1 }));
        Assert.Throws<ArgumentException>(() => SyntheticGenerator.Generate(_dir + "-x", Small with { Users = 0 }));
        Assert.That(Directory.Exists(_dir + "-x"), Is.False);
    }
}
