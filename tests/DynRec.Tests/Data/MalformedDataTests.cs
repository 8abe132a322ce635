using DynRec.Data;

namespace DynRec.Tests.Data;

/// <summary>Broken variants of kuairand_small: each error names the file, the line and the column.</summary>
[TestFixture]
public class MalformedDataTests
{
    private const string Log1 = "log_standard_4_08_to_4_09_pure.csv";
    private string _dir = null!;

    [SetUp]
    public void CopyFixture() => _dir = DataFixtures.Copy("kuairand_small");

    [TearDown]
    public void Remove() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string file) => Path.Combine(_dir, file);

    /// <summary>Replaces line <paramref name="line"/> (1 = header) of a file.</summary>
    private void EditLine(string file, int line, Func<string, string> edit)
    {
        var lines = File.ReadAllLines(PathOf(file));
        lines[line - 1] = edit(lines[line - 1]);
        File.WriteAllText(PathOf(file), string.Join("\n", lines) + "\n");
    }

    private DataFormatException LoadFails() =>
        Assert.Throws<DataFormatException>(() => DataFixtures.LoadUncached(_dir))!;

    [Test]
    public void MissingColumnNamesFileHeaderLineAndColumn()
    {
        EditLine(Log1, 1, h => h.Replace("is_click", "is_clik"));
        var e = LoadFails();
        Assert.That(e.File, Is.EqualTo(PathOf(Log1)));
        Assert.That(e.Line, Is.EqualTo(1));
        Assert.That(e.Column, Is.EqualTo("is_click"));
        Assert.That(e.Message, Does.StartWith($"{PathOf(Log1)}, line 1, column 'is_click': missing column"));
    }

    [Test]
    public void WrongColumnCountNamesFileAndLine()
    {
        EditLine(Log1, 3, l => l + ",7");
        var e = LoadFails();
        Assert.That(e.Message, Is.EqualTo($"{PathOf(Log1)}, line 3: expected 19 columns (as in the header), found 20"));
    }

    [Test]
    public void UnparsableValueNamesFileLineAndColumn()
    {
        EditLine(Log1, 4, l => l.Replace("20220408", "2022-04-08"));
        var e = LoadFails();
        Assert.That(e.Message, Is.EqualTo($"{PathOf(Log1)}, line 4, column 'date': '2022-04-08' is not an integer"));
    }

    [Test]
    public void BadFlagAndBadHourMinAreReported()
    {
        EditLine(Log1, 2, l => string.Join(",", l.Split(',').Select((v, i) => i == 5 ? "2" : v)));
        Assert.That(LoadFails().Message, Is.EqualTo($"{PathOf(Log1)}, line 2, column 'is_click': '2' is not 0 or 1 (or false / true)"));
        EditLine(Log1, 2, l => string.Join(",", l.Split(',').Select((v, i) => i == 5 ? "1" : i == 3 ? "1275" : v)));
        Assert.That(LoadFails().Message, Is.EqualTo($"{PathOf(Log1)}, line 2, column 'hourmin': hourmin 1275 is not a time of day HHMM"));
    }

    [Test]
    public void UnparsableOneHotValueInUserFeatures()
    {
        EditLine("user_features_pure.csv", 3, l => l.Replace("366-730,2,0,", "366-730,x,0,"));
        var e = LoadFails();
        Assert.That(e.File, Is.EqualTo(PathOf("user_features_pure.csv")));
        Assert.That(e.Line, Is.EqualTo(3));
        Assert.That(e.Column, Is.EqualTo("onehot_feat0"));
    }

    [Test]
    public void EmptyFileIsReported()
    {
        File.WriteAllText(PathOf("user_features_pure.csv"), "");
        Assert.That(LoadFails().Message, Is.EqualTo($"{PathOf("user_features_pure.csv")}: file is empty (expected a header line)"));
    }

    [Test]
    public void HeaderWithoutRowsIsReported()
    {
        File.WriteAllText(PathOf("video_features_basic_pure.csv"), File.ReadLines(PathOf("video_features_basic_pure.csv")).First() + "\n");
        Assert.That(LoadFails().Message, Is.EqualTo($"{PathOf("video_features_basic_pure.csv")}: file has a header but no data rows"));
    }

    [Test]
    public void MissingFileNamesThePattern()
    {
        File.Delete(PathOf("video_features_basic_pure.csv"));
        Assert.That(LoadFails().Message, Is.EqualTo($"{PathOf("video_features_basic_*.csv")}: no file matches this pattern"));
    }

    [Test]
    public void MissingFolderIsReported()
    {
        var missing = PathOf("no-such-folder");
        Assert.That(Assert.Throws<DataFormatException>(() => DataFixtures.LoadUncached(missing))!.Message,
            Does.StartWith($"{missing}: data folder not found"));
    }

    [Test]
    public void DuplicateIdInASideTableIsReported()
    {
        var lines = File.ReadAllLines(PathOf("video_features_basic_pure.csv")).ToList();
        lines.Add(lines[1]);
        File.WriteAllText(PathOf("video_features_basic_pure.csv"), string.Join("\n", lines) + "\n");
        Assert.That(LoadFails().Message, Is.EqualTo($"{PathOf("video_features_basic_pure.csv")}, line 7, column 'video_id': duplicate video_id 100"));
    }

    [Test]
    public void DataFormatExceptionIsAFormatExceptionSoTheCliReportsOneLine()
    {
        File.Delete(PathOf("user_features_pure.csv"));
        Assert.That(LoadFails(), Is.InstanceOf<FormatException>());
    }
}
