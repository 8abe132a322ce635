using DynRec.Data;
using DynRec.Data.Table;

namespace DynRec.Tests.Data;

/// <summary>
/// A table's click history (the schema's history: task, length, time): each row's user's last items with a positive
/// label on strictly earlier dates, most recent first, as KuaiRand's recent_clicked_videos.
/// </summary>
[TestFixture]
public class TableHistoryTests
{
    private const string Schema = """
        files: [log.csv]
        user: uid
        item: iid
        scenario: domain
        date: day
        tasks: [click, buy]
        features:
          context: [device]
        history: {task: click, length: 3, time: ts}
        """;

    // Items 20, 30, 40, 50 seen in training: ids 1..4. Day 3 is the test day.
    private const string Log = """
        uid,iid,domain,day,ts,click,buy,device
        7,30,1,1,5,1,0,ios
        7,20,1,1,1,1,0,ios
        7,40,1,1,3,0,0,ios
        5,20,2,1,2,1,1,web
        7,50,1,2,1,1,0,ios
        7,30,2,2,2,0,0,ios
        5,30,1,2,9,1,0,web
        7,20,1,3,1,0,0,ios
        5,40,2,3,1,1,0,web
        9,30,1,3,1,0,0,tv
        """;

    private static int[][] Sequences(Dataset d) => Enumerable.Range(0, d.Rows).Select(r => d.SequenceOf(r).ToArray()).ToArray();

    [Test]
    public void EachRowSeesItsUsersClicksOfEarlierDatesMostRecentFirst()
    {
        var folder = TableFixture.Write(Schema, ("log.csv", Log + "\n"));
        try
        {
            var split = DataFixtures.LoadUncached(folder);
            Assert.Multiple(() =>
            {
                Assert.That(split.Schema.Sequence, Is.EqualTo(new SequenceField("recent_click", "iid", 3)));
                Assert.That(split.Encoding.CategoriesOf("iid"), Is.EqualTo(new[] { "20", "30", "40", "50" }));
                Assert.That(Sequences(split.Train), Is.EqualTo(new[]
                {
                    new[] { 0, 0, 0 }, new[] { 0, 0, 0 }, new[] { 0, 0, 0 }, new[] { 0, 0, 0 },  // day 1: nothing earlier
                    new[] { 2, 1, 0 }, new[] { 2, 1, 0 },  // user 7, day 2: 30 (ts 5) then 20 (ts 1); 40 was not clicked
                    new[] { 1, 0, 0 },                      // user 5, day 2
                }));
                Assert.That(Sequences(split.Test), Is.EqualTo(new[]
                {
                    new[] { 4, 2, 1 },  // user 7: 50 (day 2), then day 1's 30 and 20; the day's own clicks never count
                    new[] { 2, 1, 0 },  // user 5
                    new[] { 0, 0, 0 },  // user 9 has no earlier clicks
                }));
            });
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Test]
    public void WithoutATimeColumnRowsOfADateKeepTheirFileOrder()
    {
        var folder = TableFixture.Write(Schema.Replace(", time: ts", ""), ("log.csv", Log + "\n"));
        try
        {
            var split = DataFixtures.LoadUncached(folder);
            Assert.That(split.Train.SequenceOf(4).ToArray(), Is.EqualTo(new[] { 1, 2, 0 }), "20 is after 30 in the file: the more recent");
            Assert.That(split.Test.SequenceOf(0).ToArray(), Is.EqualTo(new[] { 4, 1, 2 }));
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Test]
    public void TheCacheKeepsTheHistory()
    {
        var folder = TableFixture.Write(Schema, ("log.csv", Log + "\n"));
        try
        {
            var first = DataSource.Load(folder);
            var cached = DataSource.Load(folder);
            Assert.That(cached.FromCache, Is.True);
            Assert.That(cached.Schema.Sequence, Is.EqualTo(first.Schema.Sequence));
            Assert.That(Sequences(cached.Test), Is.EqualTo(Sequences(first.Test)));
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Test]
    public void AKuaiRandFolderAsATableHasTheKuaiRandLoadersSequences()
    {
        var table = DataFixtures.NewTempDir();
        try
        {
            var kuaiRand = DataFixtures.LoadUncached(DataFixtures.Folder("kuairand_small"));
            KuaiRandToTable.Convert(DataFixtures.Folder("kuairand_small"), table);
            var converted = DataFixtures.LoadUncached(table);
            Assert.That(converted.Schema.Sequence, Is.EqualTo(kuaiRand.Schema.Sequence));
            Assert.That(Sequences(converted.Train), Is.EqualTo(Sequences(kuaiRand.Train)));
            Assert.That(Sequences(converted.Test), Is.EqualTo(Sequences(kuaiRand.Test)));
            Assert.That(Sequences(kuaiRand.Test).SelectMany(s => s), Has.Some.GreaterThan(0), "the fixture has histories to compare");
        }
        finally { Directory.Delete(table, recursive: true); }
    }

    [Test]
    public void BadHistoriesAreNamed()
    {
        DataFormatException Error(string schema, string log = Log)
        {
            var folder = TableFixture.Write(schema, ("log.csv", log + "\n"));
            try { return Assert.Throws<DataFormatException>(() => DataFixtures.LoadUncached(folder))!; }
            finally { Directory.Delete(folder, recursive: true); }
        }
        var task = Error(Schema.Replace("task: click", "task: like"));
        var length = Error(Schema.Replace("length: 3", "length: 0"));
        var name = Error(Schema.Replace("time: ts}", "time: ts, name: device}"));
        var time = Error(Schema, Log.Replace("7,50,1,2,1,1", "7,50,1,2,soon,1"));
        var noItem = Error(Schema.Replace("item: iid\n", ""));
        var twice = Error(Schema.Replace("time: ts", "time: day"));
        Assert.Multiple(() =>
        {
            Assert.That(task.Column, Is.EqualTo("history.task"));
            Assert.That(task.Message, Does.Contain("'like' is not one of the tasks (click, buy)"));
            Assert.That(length.Message, Does.Contain("history.length must be 1..1000, got 0"));
            Assert.That(name.Message, Does.Contain("'device' is already a column"));
            Assert.That((Path.GetFileName(time.File), time.Line, time.Column), Is.EqualTo(("log.csv", 6L, "ts")));
            Assert.That(time.Message, Does.Contain("'soon' is not a time"));
            Assert.That(noItem.Message, Does.Contain("it needs an 'item' column"));
            Assert.That(twice.Message, Does.Contain("column 'day' is named more than once"));
        });
    }
}
