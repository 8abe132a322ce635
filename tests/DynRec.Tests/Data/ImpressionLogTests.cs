using DynRec.Data;

namespace DynRec.Tests.Data;

/// <summary>
/// Impression logs: log files without feedback columns hold the rows to score
/// (the last date), with only the columns the features use.
/// </summary>
[TestFixture]
public class ImpressionLogTests
{
    private const string TestDayLog = "log_standard_4_10_to_4_10_pure.csv";
    private static readonly string[] ImpressionColumns = { "user_id", "video_id", "date", "hourmin", "time_ms", "is_rand", "tab" };
    private readonly List<string> _dirs = new();

    [TearDown]
    public void DeleteCopies()
    {
        foreach (var d in _dirs) Directory.Delete(d, recursive: true);
        _dirs.Clear();
    }

    private string Copy()
    {
        var dir = DataFixtures.Copy("kuairand_small");
        _dirs.Add(dir);
        return dir;
    }

    /// <summary>Writes <paramref name="source"/>'s rows as an impression log (feedback columns dropped) to <paramref name="target"/>.</summary>
    private static void WriteImpressions(string source, string target, Func<string, string>? editDate = null)
    {
        var lines = File.ReadAllLines(source);
        var header = lines[0].Split(',');
        var keep = ImpressionColumns.Select(c => Array.IndexOf(header, c)).ToArray();
        File.WriteAllLines(target, lines.Select((line, i) =>
        {
            var cells = line.Split(',');
            var picked = keep.Select(k => cells[k]).ToArray();
            if (i > 0 && editDate != null) picked[2] = editDate(picked[2]);
            return string.Join(',', picked);
        }));
    }

    [Test]
    public void TheScoredDayIsEncodedAsIfLabeledButHasNoLabels()
    {
        var labeled = DataFixtures.LoadUncached(DataFixtures.Folder("kuairand_small"));
        var dir = Copy();
        var log = Path.Combine(dir, TestDayLog);
        WriteImpressions(Path.Combine(DataFixtures.Folder("kuairand_small"), TestDayLog), log + ".tmp");
        File.Move(log + ".tmp", log, overwrite: true);

        var scored = DataFixtures.LoadUncached(dir);
        Assert.That(scored.Train.HasLabels, Is.True);
        Assert.That(scored.Test.HasLabels, Is.False);
        Assert.That(scored.Test.Rows, Is.EqualTo(labeled.Test.Rows));
        // Features never read the scored day's labels (sequences use earlier dates' clicks), so every id matches.
        for (var f = 0; f < labeled.Schema.SparseFields.Count; f++)
            Assert.That(scored.Test.Column(f), Is.EqualTo(labeled.Test.Column(f)), labeled.Schema.SparseFields[f].Name);
        for (var r = 0; r < labeled.Test.Rows; r++)
        {
            Assert.That(scored.Test.SequenceOf(r).ToArray(), Is.EqualTo(labeled.Test.SequenceOf(r).ToArray()));
            Assert.That(scored.Test.KeyOf(r), Is.EqualTo(labeled.Test.KeyOf(r)));
        }
        Assert.That(scored.Test.LabelColumn(0), Is.All.Zero);
        Assert.That((DataStats.Of(scored).TestHasLabels, DataStats.Of(labeled).TestHasLabels), Is.EqualTo((false, true)));
        Assert.That(labeled.Test.LabelColumn(0), Has.Some.EqualTo(1f), "the fixture's test day does have a click");
    }

    [Test]
    public void ImpressionsBeforeTheLastDateAreAnError()
    {
        var dir = Copy();
        var trainLog = Path.Combine(dir, "log_standard_4_08_to_4_09_pure.csv");
        WriteImpressions(trainLog, trainLog + ".tmp");
        File.Move(trainLog + ".tmp", trainLog, overwrite: true);
        var e = Assert.Throws<DataFormatException>(() => DataFixtures.LoadUncached(dir))!;
        Assert.That(e.Message, Does.StartWith(trainLog).And.Contain("column 'date'").And.Contain("must all be on the last date (20220410)"));
    }

    [Test]
    public void AScoredDayMixedWithLabeledRowsIsAnError()
    {
        var dir = Copy();
        WriteImpressions(Path.Combine(dir, TestDayLog), Path.Combine(dir, "log_standard_4_10_to_4_10_more.csv"));
        var e = Assert.Throws<DataFormatException>(() => DataFixtures.LoadUncached(dir))!;
        Assert.That(e.Message, Does.Contain("log_standard_4_10_to_4_10_more.csv").And.Contain("mixes labeled rows"));
    }

    [Test]
    public void AnImpressionLogNeedsItsFeatureColumns()
    {
        var dir = Copy();
        var log = Path.Combine(dir, TestDayLog);
        WriteImpressions(Path.Combine(DataFixtures.Folder("kuairand_small"), TestDayLog), log);
        File.WriteAllLines(log, File.ReadAllLines(log).Select(l => string.Join(',', l.Split(',').Where((_, i) => i != 5))));  // drop is_rand
        var e = Assert.Throws<DataFormatException>(() => DataFixtures.LoadUncached(dir))!;
        Assert.That(e.Message, Does.Contain("column 'is_rand': missing column"));
    }

    [Test]
    public void TheCacheKeepsTheUnlabeledFlag()
    {
        var dir = Copy();
        var log = Path.Combine(dir, TestDayLog);
        WriteImpressions(Path.Combine(DataFixtures.Folder("kuairand_small"), TestDayLog), log + ".tmp");
        File.Move(log + ".tmp", log, overwrite: true);
        var first = DataSource.Load(dir);
        var second = DataSource.Load(dir);
        Assert.That(second.FromCache, Is.True);
        Assert.That((first.Test.HasLabels, second.Test.HasLabels, second.Train.HasLabels), Is.EqualTo((false, false, true)));
    }
}
