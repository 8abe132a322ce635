using DynRec.Data;
using DynRec.Data.Table;
using nietras.SeparatedValues;

namespace DynRec.Tests.Data;

/// <summary>
/// Table folders whose user and item features live in their own tables (user_table, item_table in the schema):
/// joined on the ids as the loader compares them, loading exactly as the same data written as one wide table;
/// every mistake (a second row for a key, ids that match nothing, a feature in neither file) named.
/// </summary>
[TestFixture]
public class TableSideTablesTests
{
    private static void AssertSameSplit(DataSplit expected, DataSplit actual)
    {
        Assert.Multiple(() =>
        {
            Assert.That(actual.Schema.SparseFields.Select(f => (f.Name, f.VocabularySize, f.Groups)),
                Is.EqualTo(expected.Schema.SparseFields.Select(f => (f.Name, f.VocabularySize, f.Groups))));
            foreach (var (e, a, name) in new[] { (expected.Train, actual.Train, "train"), (expected.Test, actual.Test, "test") })
            {
                Assert.That(a.Rows, Is.EqualTo(e.Rows), name);
                foreach (var field in expected.Schema.SparseFields.Select(f => f.Name))
                    Assert.That(a.Column(field), Is.EqualTo(e.Column(field)), $"{name} {field}");
                for (var t = 0; t < expected.Schema.Tasks.Count; t++)
                    Assert.That(a.LabelColumn(t), Is.EqualTo(e.LabelColumn(t)), $"{name} task {t}");
                Assert.That(Enumerable.Range(0, a.Rows).Select(a.KeyOf), Is.EqualTo(Enumerable.Range(0, e.Rows).Select(e.KeyOf)), $"{name} keys");
            }
            Assert.That(actual.Schema.Sequence, Is.EqualTo(expected.Schema.Sequence));
            if (expected.Schema.Sequence != null)
                foreach (var (e, a, name) in new[] { (expected.Train, actual.Train, "train"), (expected.Test, actual.Test, "test") })
                    for (var r = 0; r < e.Rows; r++)
                        Assert.That(a.SequenceOf(r).ToArray(), Is.EqualTo(e.SequenceOf(r).ToArray()), $"{name} row {r}'s history");
            Assert.That(actual.Encoding.Fingerprint(), Is.EqualTo(expected.Encoding.Fingerprint()), "the same vocabularies and bucket edges");
        });
    }

    [TestCase(false)]
    [TestCase(true)]
    public void UserAndItemTablesLoadExactlyAsTheWideTable(bool textIds)
    {
        var wide = TableFixture.WriteRandom(1500, 4, seed: 5, textIds);
        var split = TableFixture.SplitIntoSideTables(wide);
        try
        {
            Assert.That(File.ReadAllText(Path.Combine(split, "all.csv")), Does.Not.Contain("c1"), "the impressions lack the joined features");
            AssertSameSplit(DataFixtures.LoadUncached(wide), DataFixtures.LoadUncached(split));
        }
        finally
        {
            Directory.Delete(wide, recursive: true);
            Directory.Delete(split, recursive: true);
        }
    }

    [Test]
    public void KeysJoinAsTheLoaderComparesIds()
    {
        // The user table writes 7 as "7.0" and "007" alternately: as integers they are the impressions' ids.
        var wide = TableFixture.WriteRandom(800, 3, seed: 8);
        var n = 0;
        var split = TableFixture.SplitIntoSideTables(wide, id => n++ % 2 == 0 ? id + ".0" : "00" + id);
        try { AssertSameSplit(DataFixtures.LoadUncached(wide), DataFixtures.LoadUncached(split)); }
        finally
        {
            Directory.Delete(wide, recursive: true);
            Directory.Delete(split, recursive: true);
        }
    }

    [Test]
    public void AnEntityWithoutARowHasMissingFeaturesAndAFilesOwnColumnWinsOverTheTable()
    {
        // User 5 has no row. a.csv has its own category column (zzz), which wins; b.csv lacks it, so the item table fills it.
        var schema = TableFixture.Schema + "\nuser_table: users.csv\nitem_table: items.csv\n";
        var a = "uid,iid,domain,day,click,buy,category,device\n7,30,2,1,1,0,zzz,ios\n5,20,8,1,0,0,zzz,android\n";
        var b = "uid,iid,domain,day,click,buy,device\n9,30,8,2,0,0,web\n7,20,2,3,1,0,ios\n";
        var users = "uid,age,unused\n7,young,x\n9,mid,y\n11,new,z\n";
        var items = "iid,category,price\n30,shoes,10.5\n20,hats,\n";
        var folder = TableFixture.Write(schema, ("a.csv", a), ("b.csv", b), ("users.csv", users), ("items.csv", items));
        try
        {
            var logs = new List<string>();
            var s = DataSource.Load(folder, new LoadOptions { UseCache = false, Log = logs.Add });
            Assert.Multiple(() =>
            {
                Assert.That(s.Encoding.CategoriesOf("age"), Is.EqualTo(new[] { "mid", "young" }));
                Assert.That(s.Train.Column("age"), Is.EqualTo(new[] { 2, 0, 1 }), "user 5 has no row: missing age");
                Assert.That(s.Encoding.CategoriesOf("category"), Is.EqualTo(new[] { "shoes", "zzz" }), "a.csv's own, then the table's for b.csv");
                Assert.That(s.Train.Column("category"), Is.EqualTo(new[] { 2, 2, 1 }));
                Assert.That(s.Test.Column("category"), Is.EqualTo(new[] { 0 }), "hats is only on the test day");
                Assert.That(s.Test.Column("price"), Is.EqualTo(new[] { 0 }), "item 20's price is empty");
                Assert.That(logs, Has.Some.Contains("user table users.csv: age for 2 of 3 users (1 without a row"));
                Assert.That(logs, Has.Some.Contains("item table items.csv: category, price for 2 of 2 items"));
            });
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    private static DataFormatException LoadError(string schemaTail, string impressions, params (string Name, string Content)[] tables)
    {
        var schema = TableFixture.Schema.Replace("[a.csv, b.csv]", "[a.csv]") + "\n" + schemaTail;
        var folder = TableFixture.Write(schema, tables.Prepend(("a.csv", impressions)).ToArray());
        try { return Assert.Throws<DataFormatException>(() => DataFixtures.LoadUncached(folder))!; }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Test]
    public void MistakesAreNamedWithFileLineAndColumn()
    {
        const string narrow = "uid,iid,domain,day,click,buy,device\n7,30,2,1,1,0,ios\n5,20,8,1,0,0,web\n7,20,2,3,1,0,ios\n";
        const string items = "iid,category,price\n30,shoes,10.5\n20,hats,3\n";
        const string both = "user_table: users.csv\nitem_table: items.csv\n";
        var twice = LoadError(both, narrow, ("users.csv", "uid,age\n7,young\n5,old\n7.0,mid\n"), ("items.csv", items));
        var noMatch = LoadError(both, narrow, ("users.csv", "uid,age\nu7,young\nu5,old\n"), ("items.csv", items));
        var nowhere = LoadError(both, narrow, ("users.csv", "uid,gender\n7,f\n"), ("items.csv", items));
        var neither = LoadError(both, narrow.Replace(",device", ",gadget"), ("users.csv", "uid,age\n7,young\n"), ("items.csv", items));
        var emptyKey = LoadError(both, narrow, ("users.csv", "uid,age\n7,young\n,old\n"), ("items.csv", items));
        var ragged = LoadError(both, narrow, ("users.csv", "uid,age\n7,young,extra\n"), ("items.csv", items));
        var noItem = NoItemColumnError();
        var glob = LoadError("user_table: \"users/*.csv\"\n", narrow);
        var listedTwice = LoadError("user_table: a.csv\n", narrow);
        Assert.Multiple(() =>
        {
            Assert.That((Path.GetFileName(twice.File), twice.Line, twice.Column), Is.EqualTo(("users.csv", 4L, "uid")));
            Assert.That(twice.Message, Does.Contain("user '7.0' has a second row"));
            Assert.That((Path.GetFileName(noMatch.File), noMatch.Column), Is.EqualTo(("users.csv", "uid")));
            Assert.That(noMatch.Message, Does.Contain("none of the impressions' 2 users has a row").And.Contain("'7'"));
            Assert.That((Path.GetFileName(nowhere.File), nowhere.Line), Is.EqualTo(("users.csv", 1L)));
            Assert.That(nowhere.Message, Does.Contain("none of the user features (age)"));
            Assert.That((Path.GetFileName(neither.File), neither.Column), Is.EqualTo(("a.csv", "device")));
            Assert.That(neither.Message, Does.Contain("missing column"));
            Assert.That((Path.GetFileName(emptyKey.File), emptyKey.Line, emptyKey.Column), Is.EqualTo(("users.csv", 3L, "uid")));
            Assert.That((Path.GetFileName(ragged.File), ragged.Line), Is.EqualTo(("users.csv", 2L)));
            Assert.That(noItem.Column, Is.EqualTo("item_table"));
            Assert.That(noItem.Message, Does.Contain("needs an 'item' column"));
            Assert.That(glob.Column, Is.EqualTo("user_table"));
            Assert.That(glob.Message, Does.Contain("matches no file"));
            Assert.That(listedTwice.Message, Does.Contain("listed twice (files, user_table)"));
        });
    }

    private static DataFormatException NoItemColumnError()
    {
        // No item column at all, yet an item table.
        var schema = """
            files: [a.csv]
            user: uid
            scenario: domain
            date: day
            tasks: [click]
            features:
              user: [age]
            item_table: items.csv
            """;
        var folder = TableFixture.Write(schema, ("a.csv", "uid,domain,day,click,age\n7,2,1,1,x\n7,2,2,0,x\n"), ("items.csv", "iid,age\n1,x\n"));
        try { return Assert.Throws<DataFormatException>(() => DataFixtures.LoadUncached(folder))!; }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Test]
    public void EditingAUserTableInvalidatesTheCache()
    {
        var wide = TableFixture.WriteRandom(600, 3, seed: 2);
        var folder = TableFixture.SplitIntoSideTables(wide);
        try
        {
            var first = DataSource.Load(folder);
            Assert.That(DataSource.Load(folder).FromCache, Is.True);
            var users = Path.Combine(folder, "users.csv");
            File.WriteAllText(users, File.ReadAllText(users).Replace(",a1\n", ",a9\n"));
            File.SetLastWriteTimeUtc(users, DateTime.UtcNow.AddMinutes(1));
            var edited = DataSource.Load(folder);
            Assert.That(edited.FromCache, Is.False);
            Assert.That(edited.Encoding.CategoriesOf("age"), Does.Contain("a9").And.Not.Contain("a1"));
            Assert.That(first.Encoding.CategoriesOf("age"), Does.Contain("a1"));
        }
        finally
        {
            Directory.Delete(wide, recursive: true);
            Directory.Delete(folder, recursive: true);
        }
    }

    [Test]
    public void AKuaiRandFolderConvertedToATableLoadsAsItsJoinedWideForm()
    {
        // data to-table writes users.csv and videos.csv; joined by hand into every impression row they must load the same.
        var table = DataFixtures.NewTempDir();
        var wide = DataFixtures.NewTempDir();
        try
        {
            KuaiRandToTable.Convert(DataFixtures.Folder("kuairand_small"), table);
            static (string[] Header, List<string[]> Rows) Read(string path)
            {
                using var reader = Sep.Reader(o => o with { Unescape = true }).FromFile(path);
                var rows = new List<string[]>();
                foreach (var row in reader)
                {
                    var cells = new string[row.ColCount];
                    for (var c = 0; c < cells.Length; c++) cells[c] = row[c].ToString();
                    rows.Add(cells);
                }
                return (reader.Header.ColNames.ToArray(), rows);
            }
            var (userHeader, userRows) = Read(Path.Combine(table, "users.csv"));
            var (videoHeader, videoRows) = Read(Path.Combine(table, "videos.csv"));
            var users = userRows.ToDictionary(r => r[0], r => r[1..]);
            var videos = videoRows.ToDictionary(r => r[0], r => r[1..]);
            Assert.That(userRows.Any(r => r.Any(c => c.Contains(','))), "quoted cells ((10,50]) survive the join");
            var schema = File.ReadAllText(Path.Combine(table, TableSchema.FileName));
            foreach (var log in Directory.GetFiles(table, "table_*.csv"))
            {
                var (header, rows) = Read(log);
                int cUser = Array.IndexOf(header, "user_id"), cVideo = Array.IndexOf(header, "video_id");
                using var writer = Sep.New(',').Writer(o => o with { Escape = true }).ToFile(Path.Combine(wide, Path.GetFileName(log)));
                foreach (var r in rows)
                {
                    var cells = r.Concat(users.GetValueOrDefault(r[cUser], new string[userHeader.Length - 1]))
                        .Concat(videos.GetValueOrDefault(r[cVideo], new string[videoHeader.Length - 1])).ToArray();
                    var names = header.Concat(userHeader[1..]).Concat(videoHeader[1..]).ToArray();
                    using var w = writer.NewRow();
                    for (var k = 0; k < names.Length; k++) w[names[k]].Set(cells[k] ?? "");
                }
            }
            File.WriteAllText(Path.Combine(wide, TableSchema.FileName), schema.Replace("user_table: users.csv", "").Replace("item_table: videos.csv", ""));
            Assert.That(schema, Does.Contain("user_table: users.csv").And.Contain("item_table: videos.csv"));
            AssertSameSplit(DataFixtures.LoadUncached(wide), DataFixtures.LoadUncached(table));
        }
        finally
        {
            Directory.Delete(table, recursive: true);
            Directory.Delete(wide, recursive: true);
        }
    }
}
