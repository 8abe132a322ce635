using DynRec.Data;

namespace DynRec.Tests.Data;

/// <summary>
/// Table folders whose user, item or scenario ids are text ("u7", "sku-030", "home"): encoded like integer ids
/// (ordinal order), written back as the text, kept by the cache and matched by a fitted encoding.
/// </summary>
[TestFixture]
public class TableTextIdsTests
{
    private static string WriteTextTable() => TableFixture.Write(TableFixture.Schema,
        ("a.csv", TableFixture.WithTextIds(TableFixture.A)), ("b.csv", TableFixture.WithTextIds(TableFixture.B)));

    [Test]
    public void TextIdsEncodeAsTheirIntegerTwinsAndKeepTheirText()
    {
        var numeric = TableFixture.WriteDefault();
        var text = WriteTextTable();
        try
        {
            var a = DataFixtures.LoadUncached(numeric);
            var b = DataFixtures.LoadUncached(text);
            Assert.Multiple(() =>
            {
                foreach (var field in a.Schema.SparseFields.Select(f => f.Name))
                {
                    Assert.That(b.Train.Column(field), Is.EqualTo(a.Train.Column(field)), field);
                    Assert.That(b.Test.Column(field), Is.EqualTo(a.Test.Column(field)), field);
                }
                Assert.That(b.Test.KeyOf(1), Is.EqualTo(new RowKey(RawId.Of("u11"), RawId.Of("sku-040"), 7, 3, RawId.Of("search"))));
                Assert.That(b.Test.KeyOf(1).UserId.ToString(), Is.EqualTo("u11"));
                Assert.That(b.Encoding.CategoriesOf("uid"), Is.EqualTo(new[] { "u5", "u7", "u9" }));
                Assert.That(b.Encoding.CategoriesOf("domain"), Is.EqualTo(new[] { "home", "search" }));
                Assert.That(b.Train.Keys.ScenarioValues.Texts, Is.EqualTo(new[] { "home", "search" }));
                Assert.That(a.Train.Keys.ScenarioValues.Numbers, Is.EqualTo(new long[] { 2, 8 }), "integer ids stay integers");
                Assert.That(DataStats.Of(b).ScenarioValues, Is.EqualTo(new[] { "home", "search" }));
            });
        }
        finally
        {
            Directory.Delete(numeric, recursive: true);
            Directory.Delete(text, recursive: true);
        }
    }

    [Test]
    public void TextIdsAreOrderedOrdinallyNotNumerically()
    {
        // u10 sorts before u5 as text; as integers 5 would come first.
        var folder = TableFixture.Write(TableFixture.Schema, ("a.csv", TableFixture.WithTextIds(TableFixture.A).Replace("u9,", "u10,")),
            ("b.csv", TableFixture.WithTextIds(TableFixture.B).Replace("u9,", "u10,")));
        try
        {
            var split = DataFixtures.LoadUncached(folder);
            Assert.That(split.Encoding.CategoriesOf("uid"), Is.EqualTo(new[] { "u10", "u5", "u7" }));
            Assert.That(split.Train.Column("uid"), Is.EqualTo(new[] { 3, 2, 3, 1, 2, 1 }));
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Test]
    public void IntegerCellsCompareAsIntegersAndTextIdsAreWrittenAsFirstSeen()
    {
        // User 7 written as 007 (first), 7.0 and 7; in the second table one user is text, so the column's ids are text.
        var a = TableFixture.A.Replace("\n7,30,2,1,", "\n007,30,2,1,").Replace("\n7,20,2,1,", "\n7.0,20,2,1,");
        var integers = TableFixture.Write(TableFixture.Schema, ("a.csv", a), ("b.csv", TableFixture.B));
        var mixed = TableFixture.Write(TableFixture.Schema, ("a.csv", a), ("b.csv", TableFixture.B.Replace("\n9,20,8,2,", "\nx9,20,8,2,")));
        try
        {
            var i = DataFixtures.LoadUncached(integers);
            var m = DataFixtures.LoadUncached(mixed);
            Assert.Multiple(() =>
            {
                Assert.That(i.Train.Column("uid"), Is.EqualTo(new[] { 2, 1, 2, 3, 1, 3 }), "007, 7.0 and 7 are one user");
                Assert.That(i.Test.KeyOf(0).UserId, Is.EqualTo(RawId.Of(7)));
                Assert.That(i.Train.Keys.UserIds.Numbers, Is.Not.Null);
                // Text ids: "007" (user 7 as first written), "5", "9", "x9"; "9" and "x9" are two users.
                Assert.That(m.Encoding.CategoriesOf("uid"), Is.EqualTo(new[] { "007", "5", "9", "x9" }));
                Assert.That(m.Train.Column("uid"), Is.EqualTo(new[] { 1, 2, 1, 3, 2, 4 }));
                Assert.That(m.Test.KeyOf(0).UserId, Is.EqualTo(RawId.Of("007")), "7 on the test day is user 007, written as first seen");
            });
        }
        finally
        {
            Directory.Delete(integers, recursive: true);
            Directory.Delete(mixed, recursive: true);
        }
    }

    [Test]
    public void TheCacheKeepsTextIds()
    {
        var folder = WriteTextTable();
        try
        {
            var first = DataSource.Load(folder);
            var second = DataSource.Load(folder);
            Assert.That(second.FromCache, Is.True);
            for (var r = 0; r < first.Test.Rows; r++) Assert.That(second.Test.KeyOf(r), Is.EqualTo(first.Test.KeyOf(r)));
            Assert.That(second.Train.Keys.UserIds.Texts, Is.EqualTo(first.Train.Keys.UserIds.Texts));
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Test]
    public void AFittedEncodingMatchesTextIds()
    {
        var folder = WriteTextTable();
        var other = TableFixture.Write(TableFixture.Schema.Replace("files: [a.csv, b.csv]", "files: [new.csv]"),
            ("new.csv", string.Join("\n", TableFixture.Header, "u9,sku-020,search,5,1,0,mid,hats,15,web", "u99,sku-040,home,6,0,1,old,shoes,35,tv") + "\n"));
        var unknownScenario = TableFixture.Write(TableFixture.Schema.Replace("files: [a.csv, b.csv]", "files: [new.csv]"),
            ("new.csv", string.Join("\n", TableFixture.Header, "u9,sku-020,search,5,1,0,mid,hats,15,web", "u5,sku-040,video,6,0,1,old,shoes,35,tv") + "\n"));
        try
        {
            var fitted = DataFixtures.LoadUncached(folder).Encoding;
            var split = DataSource.Load(other, new LoadOptions { UseCache = false, Encoding = fitted });
            Assert.Multiple(() =>
            {
                Assert.That(split.Train.Column("uid"), Is.EqualTo(new[] { 3 }), "u9");
                Assert.That(split.Train.Column("iid"), Is.EqualTo(new[] { 1 }), "sku-020");
                Assert.That(split.Test.Column("uid"), Is.EqualTo(new[] { 0 }), "u99 was never trained on");
                Assert.That(split.Train.Column("domain"), Is.EqualTo(new[] { 2 }), "search");
                Assert.That(split.Test.KeyOf(0).Scenario, Is.EqualTo(RawId.Of("home")));
            });
            var e = Assert.Throws<DataFormatException>(() => DataSource.Load(unknownScenario, new LoadOptions { UseCache = false, Encoding = fitted }))!;
            Assert.That(e.Message, Does.Contain("scenario video is not one the model was trained on"));
            Assert.That((e.Line, e.Column), Is.EqualTo((3L, "domain")));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            Directory.Delete(other, recursive: true);
            Directory.Delete(unknownScenario, recursive: true);
        }
    }
}
