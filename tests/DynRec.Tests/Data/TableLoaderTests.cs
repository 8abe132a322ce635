using DynRec.Data;
using DynRec.Data.Table;

namespace DynRec.Tests.Data;

/// <summary>The table format (dynrec-table.yaml + CSV files) on the hand-written <see cref="TableFixture"/>.</summary>
[TestFixture]
public class TableLoaderTests
{
    private string _folder = null!;
    private DataSplit _split = null!;

    [OneTimeSetUp]
    public void Load()
    {
        _folder = TableFixture.WriteDefault();
        _split = DataFixtures.LoadUncached(_folder);
    }

    [OneTimeTearDown]
    public void Delete() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void SchemaHasTheUserItemFeaturesAndScenarioInOrderWithTheirRoles()
    {
        var s = _split.Schema;
        Assert.Multiple(() =>
        {
            Assert.That(s.SparseFields.Select(f => f.Name), Is.EqualTo(new[] { "uid", "iid", "age", "category", "price", "device", "domain" }));
            Assert.That(s.SparseFields.Select(f => f.Groups), Is.EqualTo(new[]
            {
                FieldGroup.User | FieldGroup.Persona, FieldGroup.Item | FieldGroup.Persona, FieldGroup.User, FieldGroup.Item,
                FieldGroup.Item, FieldGroup.Context, FieldGroup.Scenario,
            }));
            // Vocabularies from train rows: 3 users, 2 items, ages young/old/mid, categories "b,x"/shoes, 10 price buckets, 3 devices, 2 domains.
            Assert.That(s.SparseFields.Select(f => f.VocabularySize), Is.EqualTo(new[] { 4, 3, 4, 3, 11, 4, 3 }));
            Assert.That(s.Tasks, Is.EqualTo(new[] { "click", "buy" }));
            Assert.That(s.ScenarioField, Is.EqualTo("domain"));
            Assert.That(s.ScenarioCount, Is.EqualTo(2));
            Assert.That(s.Sequence, Is.Null);
            Assert.That(_split.Train.Rows, Is.EqualTo(6));
            Assert.That(_split.Test.Rows, Is.EqualTo(3));
            Assert.That(_split.Info.TestDate, Is.EqualTo(3));
        });
    }

    [Test]
    public void IdsAreLabelEncodedOnTrainRowsAndUnseenOrMissingValuesAreZero()
    {
        Assert.Multiple(() =>
        {
            // Train rows in file order (a.csv, then b.csv's day-2 rows); users by ascending raw id: 5 -> 1, 7 -> 2, 9 -> 3.
            Assert.That(_split.Train.Column("uid"), Is.EqualTo(new[] { 2, 1, 2, 3, 1, 3 }));
            Assert.That(_split.Test.Column("uid"), Is.EqualTo(new[] { 2, 0, 1 }));  // 11 never trained on
            Assert.That(_split.Test.Column("iid"), Is.EqualTo(new[] { 2, 0, 1 }));  // 20 -> 1, 30 -> 2, 40 unseen
            // Ordinal order of the text values: "b,x" (quoted in the file) -> 1, shoes -> 2; hats is test-only.
            Assert.That(_split.Train.Column("category"), Is.EqualTo(new[] { 2, 1, 1, 2, 2, 1 }));
            Assert.That(_split.Test.Column("category"), Is.EqualTo(new[] { 2, 0, 1 }));
            Assert.That(_split.Train.Column("age")[3], Is.Zero, "an empty cell is missing");
            Assert.That(_split.Train.Column("domain"), Is.EqualTo(new[] { 1, 2, 1, 2, 1, 2 }));
            Assert.That(Enumerable.Range(0, 3).Select(_split.Test.ScenarioOf), Is.EqualTo(new[] { 0, 1, 0 }));
        });
    }

    [Test]
    public void NumericFeaturesAreCutAtTheTrainDeciles()
    {
        var edges = _split.Encoding.EdgesOf("price");
        var price = _split.Train.Column("price");
        Assert.Multiple(() =>
        {
            Assert.That(edges, Has.Length.EqualTo(9));
            Assert.That(edges, Is.Ordered);
            Assert.That(edges[0], Is.EqualTo(10.5 + 0.4 * (20 - 10.5)).Within(1e-9), "numpy's linear interpolation over 10.5, 20, 20, 30, 40");
            Assert.That(price[3], Is.Zero, "a missing number is bucket 0");
            Assert.That(price[0], Is.EqualTo(1));                 // the smallest value
            Assert.That(price[5], Is.EqualTo(10));                // the largest
            Assert.That(_split.Test.Column("price")[1], Is.EqualTo(10), "99 is above every edge");
        });
    }

    [Test]
    public void LabelsAndRowKeysAreTheTableValues()
    {
        var test = _split.Test;
        Assert.Multiple(() =>
        {
            Assert.That(test.LabelColumn(0), Is.EqualTo(new float[] { 1, 0, 1 }));
            Assert.That(test.LabelColumn(1), Is.EqualTo(new float[] { 0, 0, 1 }));
            Assert.That(test.KeyOf(1), Is.EqualTo(new RowKey(11, 40, 7, 3, 8)), "raw user, item, source row, date, scenario");
            Assert.That(_split.Train.KeyOf(5).TimeMs, Is.EqualTo(5));
            Assert.That(test.Keys.Columns, Is.EqualTo(new KeyColumns("uid", "iid", "source_row", "day", "domain")));
            Assert.That(test.UserIdColumn(), Is.EqualTo(test.Column("uid")));
        });
    }

    [Test]
    public void UsersUnseenInTrainingShareTheEncodedIdZeroButStayApartForGauc()
    {
        var folder = TableFixture.Write(TableFixture.Schema, ("a.csv", TableFixture.A),
            ("b.csv", TableFixture.B.Replace("\n7,30,2,3,", "\n50,30,2,3,").Replace("\n5,20,2,3,", "\n60,20,2,3,")));
        try
        {
            var test = DataFixtures.LoadUncached(folder).Test;
            using var batch = test.GetBatch(0, test.Rows);
            var groups = batch.UserIds.data<long>().ToArray();
            Assert.Multiple(() =>
            {
                Assert.That(test.Column("uid"), Is.EqualTo(new[] { 0, 0, 0 }), "users 50, 11 and 60 never trained on");
                Assert.That(groups.Distinct().Count(), Is.EqualTo(3), "three users, three GAUC groups");
                Assert.That(Enumerable.Range(0, 3).Select(r => test.KeyOf(r).UserId.Number), Is.EqualTo(new long[] { 50, 11, 60 }));
            });
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Test]
    public void IsoDatesReadAsYyyymmdd()
    {
        // The day column (the 4th; the quoted "b,x" comes after it) as 2022-04-0d, some with a time of day as pandas writes
        // datetimes; the labels as pandas writes a bool column.
        string[] times = ["", " 13:05:00", "T08:15:30.25Z", " 23:59+02:00", "T00:00:00-0500"];
        string Iso(string text) => string.Join("\n", text.Split('\n').Select((line, i) =>
        {
            if (i == 0 || line.Length == 0) return line;
            var cells = line.Split(',', 7);
            cells[3] = $"2022-04-0{cells[3]}{times[i % times.Length]}";
            cells[4] = cells[4] == "1" ? "True" : "false";
            return string.Join(",", cells);
        }));
        var folder = TableFixture.Write(TableFixture.Schema, ("a.csv", Iso(TableFixture.A)), ("b.csv", Iso(TableFixture.B)));
        var bad = TableFixture.Write(TableFixture.Schema, ("a.csv", TableFixture.A), ("b.csv", TableFixture.B.Replace("11,40,8,3,", "11,40,8,2022-02-30,")));
        var badTime = TableFixture.Write(TableFixture.Schema, ("a.csv", TableFixture.A), ("b.csv", TableFixture.B.Replace("11,40,8,3,", "11,40,8,2022-04-03 25:00,")));
        try
        {
            var split = DataFixtures.LoadUncached(folder);
            Assert.That(split.Info.TestDate, Is.EqualTo(20220403));
            Assert.That(split.Test.Rows, Is.EqualTo(3));
            Assert.That(Enumerable.Range(0, split.Train.Rows).Select(split.Train.DateOf), Is.EqualTo(new[] { 20220401, 20220401, 20220401, 20220402, 20220402, 20220402 }));
            Assert.That(split.Test.LabelColumn(0), Is.EqualTo(new float[] { 1, 0, 1 }), "True / false");
            var e = Assert.Throws<DataFormatException>(() => DataFixtures.LoadUncached(bad))!;
            Assert.That((Path.GetFileName(e.File), e.Line, e.Column), Is.EqualTo(("b.csv", 5L, "day")));
            Assert.That(e.Message, Does.Contain("'2022-02-30' is not a date"));
            Assert.That(Assert.Throws<DataFormatException>(() => DataFixtures.LoadUncached(badTime))!.Message, Does.Contain("'2022-04-03 25:00' is not a date"));
            Assert.That(LoadError(TableFixture.Schema, ("a.csv", TableFixture.A), ("b.csv", TableFixture.B.Replace("11,40,8,3,", "11,40,8,1649412412,"))).Message,
                Does.Contain("date 1649412412 looks like a Unix timestamp"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            Directory.Delete(bad, recursive: true);
            Directory.Delete(badTime, recursive: true);
        }
    }

    [Test]
    public void TabSeparatedFilesReadAsTheirCommaTwins()
    {
        // Sep detects the separator from the header; the quoted "b,x" stays one cell.
        static string Tabs(string text) => text.Replace(",\"b,x\",", "\t\"b,x\"\t").Replace(',', '\t').Replace("\"b\tx\"", "\"b,x\"");
        var folder = TableFixture.Write(TableFixture.Schema.Replace("files: [a.csv, b.csv]", "files: [a.tsv, b.tsv]"),
            ("a.tsv", Tabs(TableFixture.A)), ("b.tsv", Tabs(TableFixture.B)));
        try
        {
            Assert.That(File.ReadAllText(Path.Combine(folder, "a.tsv")), Does.Contain("\t\"b,x\"\t"));
            var split = DataFixtures.LoadUncached(folder);
            foreach (var field in _split.Schema.SparseFields.Select(f => f.Name))
                Assert.That(split.Train.Column(field), Is.EqualTo(_split.Train.Column(field)), field);
            Assert.That(split.Encoding.CategoriesOf("category"), Is.EqualTo(new[] { "b,x", "shoes" }));
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Test]
    public void FilesMayBeGlobPatternsReadInPathOrder()
    {
        // b.csv's rows as parts/1.csv after a.csv's as parts/0.csv: the default fixture, so the same split.
        var folder = TableFixture.Write(TableFixture.Schema.Replace("files: [a.csv, b.csv]", "files: [\"parts/*.csv\"]"));
        var nested = TableFixture.Write(TableFixture.Schema.Replace("files: [a.csv, b.csv]", "files: [\"**/*.csv\"]"));
        try
        {
            foreach (var dir in new[] { folder, nested })
            {
                Directory.CreateDirectory(Path.Combine(dir, "parts"));
                File.WriteAllText(Path.Combine(dir, "parts", "1.csv"), TableFixture.B);
                File.WriteAllText(Path.Combine(dir, "parts", "0.csv"), TableFixture.A);
                File.WriteAllText(Path.Combine(dir, "parts", "notes.txt"), "not a table");
            }
            foreach (var dir in new[] { folder, nested })
            {
                var split = DataFixtures.LoadUncached(dir);
                Assert.That(split.Train.Column("uid"), Is.EqualTo(_split.Train.Column("uid")), dir);
                Assert.That(split.Test.Column("iid"), Is.EqualTo(_split.Test.Column("iid")), dir);
            }
            var none = LoadError(TableFixture.Schema.Replace("files: [a.csv, b.csv]", "files: [\"logs/*.csv\"]"), ("a.csv", TableFixture.A));
            Assert.That((none.Column, none.Message), Is.EqualTo(("files", none.Message)));
            Assert.That(none.Message, Does.Contain("'logs/*.csv' matches no file"));
            var twice = LoadError(TableFixture.Schema.Replace("files: [a.csv, b.csv]", "files: [a.csv, \"*.csv\"]"), ("a.csv", TableFixture.A));
            Assert.That(twice.Message, Does.Contain("is listed twice"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            Directory.Delete(nested, recursive: true);
        }
    }

    [Test]
    public void TheCacheKeepsTheKeyColumnsAndAnEditedSchemaInvalidatesIt()
    {
        var folder = TableFixture.WriteDefault();
        try
        {
            var first = DataSource.Load(folder);
            var second = DataSource.Load(folder);
            Assert.That(first.FromCache, Is.False);
            Assert.That(second.FromCache, Is.True);
            Assert.That(second.Test.Keys.Columns, Is.EqualTo(first.Test.Keys.Columns));
            Assert.That(second.Test.Column("price"), Is.EqualTo(first.Test.Column("price")));
            var schemaFile = Path.Combine(folder, TableSchema.FileName);
            File.WriteAllText(schemaFile, TableFixture.Schema.Replace("numeric: [price]", "numeric: []"));
            File.SetLastWriteTimeUtc(schemaFile, DateTime.UtcNow.AddMinutes(1));
            var edited = DataSource.Load(folder);
            Assert.That(edited.FromCache, Is.False);
            Assert.That(edited.Schema["price"].VocabularySize, Is.EqualTo(5), "price is now categorical: 10.5, 20, 30, 40");
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Test]
    public void AFittedEncodingGivesOtherDataTheTrainingIds()
    {
        // New data: user 9 and item 40 known/unknown, category hats unknown, a price bucketed by the old edges.
        var other = TableFixture.Write(TableFixture.Schema.Replace("files: [a.csv, b.csv]", "files: [new.csv]"),
            ("new.csv", string.Join("\n", TableFixture.Header, "9,20,8,5,1,0,mid,hats,15,web", "5,40,2,6,0,1,old,shoes,35,tv") + "\n"));
        try
        {
            var split = DataSource.Load(other, new LoadOptions { UseCache = false, Encoding = _split.Encoding });
            Assert.Multiple(() =>
            {
                Assert.That(DynRec.Training.Checkpointing.SchemaInfo.From(_split.Schema).Difference(split.Schema), Is.Null, "the same fields and vocabulary sizes");
                Assert.That(split.Train.Column("uid"), Is.EqualTo(new[] { 3 }));
                Assert.That(split.Test.Column("iid"), Is.EqualTo(new[] { 0 }));
                Assert.That(split.Train.Column("category"), Is.EqualTo(new[] { 0 }));
                Assert.That(split.Test.Column("device"), Is.EqualTo(new[] { 0 }), "tv was never seen in training");
                Assert.That(split.Train.Column("domain"), Is.EqualTo(new[] { 2 }));
                Assert.That(split.Encoding, Is.SameAs(_split.Encoding));
            });
        }
        finally { Directory.Delete(other, recursive: true); }
    }

    [Test]
    public void AFileWithoutTaskColumnsHoldsImpressionsToScoreOnTheLastDay()
    {
        const string header = "uid,iid,domain,day,age,category,price,device";
        var schema = TableFixture.Schema.Replace("files: [a.csv, b.csv]", "files: [a.csv, score.csv]");
        var folder = TableFixture.Write(schema, ("a.csv", TableFixture.A),
            ("score.csv", string.Join("\n", header, "7,30,2,3,young,shoes,10.5,ios", "5,20,8,3,old,\"b,x\",20,android") + "\n"));
        var early = TableFixture.Write(schema, ("a.csv", TableFixture.A),
            ("score.csv", string.Join("\n", header, "7,30,2,1,young,shoes,10.5,ios", "5,20,8,3,old,\"b,x\",20,android") + "\n"));
        try
        {
            var split = DataFixtures.LoadUncached(folder);
            Assert.That(split.Test.HasLabels, Is.False);
            Assert.That(split.Test.Rows, Is.EqualTo(2));
            var e = Assert.Throws<DataFormatException>(() => DataFixtures.LoadUncached(early))!;
            Assert.That(e.File, Does.EndWith("score.csv"));
            Assert.That(e.Message, Does.Contain("impressions to score").And.Contain("last date (3)"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
            Directory.Delete(early, recursive: true);
        }
    }

    private static DataFormatException LoadError(string schema, params (string Name, string Content)[] files)
    {
        var folder = TableFixture.Write(schema, files);
        try { return Assert.Throws<DataFormatException>(() => DataFixtures.LoadUncached(folder))!; }
        finally { Directory.Delete(folder, recursive: true); }
    }

    [Test]
    public void BadDataNamesFileLineAndColumn()
    {
        var badLabel = LoadError(TableFixture.Schema, ("a.csv", TableFixture.A.Replace("9,30,8,2,0,0", "9,30,8,2,2,0")), ("b.csv", TableFixture.B));
        var badUser = LoadError(TableFixture.Schema, ("a.csv", TableFixture.A), ("b.csv", TableFixture.B.Replace("11,40", ",40")));
        var testOnlyScenario = LoadError(TableFixture.Schema, ("a.csv", TableFixture.A), ("b.csv", TableFixture.B.Replace("11,40,8,3", "11,40,5,3")));
        var missingColumn = LoadError(TableFixture.Schema, ("a.csv", TableFixture.A.Replace(",device", ",gadget")), ("b.csv", TableFixture.B));
        var someTasks = LoadError(TableFixture.Schema, ("a.csv", TableFixture.A.Replace(",buy,", ",bought,")), ("b.csv", TableFixture.B));
        Assert.Multiple(() =>
        {
            Assert.That((Path.GetFileName(badLabel.File), badLabel.Line, badLabel.Column), Is.EqualTo(("a.csv", 5L, "click")));
            Assert.That(badLabel.Message, Does.Contain("'2' is not 0 or 1 (or false / true)"));
            Assert.That((Path.GetFileName(badUser.File), badUser.Line, badUser.Column), Is.EqualTo(("b.csv", 5L, "uid")));
            Assert.That(badUser.Message, Does.Contain("uid is empty"));
            Assert.That((Path.GetFileName(testOnlyScenario.File), testOnlyScenario.Line, testOnlyScenario.Column), Is.EqualTo(("b.csv", 5L, "domain")));
            Assert.That(testOnlyScenario.Message, Does.Contain("scenario 5 occurs only on the last date"));
            Assert.That((Path.GetFileName(missingColumn.File), missingColumn.Column), Is.EqualTo(("a.csv", "device")));
            Assert.That(missingColumn.Message, Does.Contain("missing column"));
            Assert.That(someTasks.Column, Is.EqualTo("buy"), "a file with some of the task columns is an error, not an impression file");
        });
    }

    [Test]
    public void BadSchemaFilesAreRejectedWithTheirReason()
    {
        (string? Column, string Message, long Line) Error(string schema)
        {
            var e = LoadError(schema, ("a.csv", TableFixture.A), ("b.csv", TableFixture.B));
            Assert.That(Path.GetFileName(e.File), Is.EqualTo(TableSchema.FileName).Or.EqualTo("nope.csv"));
            return (e.Column, e.Message, e.Line);
        }
        var unknownKey = Error(TableFixture.Schema + "\nlabels: [x]\n");
        var twice = Error(TableFixture.Schema.Replace("context: [device]", "context: [device, age]"));
        var numeric = Error(TableFixture.Schema.Replace("numeric: [price]", "numeric: [weight]"));
        var noTasks = Error(TableFixture.Schema.Replace("tasks: [click, buy]", "tasks: []"));
        var noFile = Error(TableFixture.Schema.Replace("[a.csv, b.csv]", "[a.csv, nope.csv]"));
        var persona = Error(TableFixture.Schema + "\npersona: [zip]\n");
        Assert.Multiple(() =>
        {
            Assert.That(unknownKey.Message, Does.Contain("labels").And.Contain("valid keys"));
            Assert.That(unknownKey.Line, Is.EqualTo(12));
            Assert.That(twice.Message, Does.Contain("column 'age' is named more than once"));
            Assert.That(numeric.Message, Does.Contain("'weight' is not one of the features"));
            Assert.That(noTasks.Column, Is.EqualTo("tasks"));
            Assert.That(noFile.Message, Does.Contain("file not found"));
            Assert.That(persona.Message, Does.Contain("'zip' is not the user, the item or a feature"));
        });
    }

    [Test]
    public void AKuaiRandFolderAsATableHasTheSameRowsUsersAndVideos()
    {
        var table = DataFixtures.NewTempDir();
        try
        {
            var kuaiRand = DataFixtures.LoadUncached(DataFixtures.Folder("kuairand_small"));
            var rows = KuaiRandToTable.Convert(DataFixtures.Folder("kuairand_small"), table);
            var converted = DataFixtures.LoadUncached(table);
            Assert.Multiple(() =>
            {
                Assert.That(rows, Is.EqualTo(kuaiRand.Train.Rows + kuaiRand.Test.Rows), "the kept tabs' rows");
                Assert.That(converted.Train.Rows, Is.EqualTo(kuaiRand.Train.Rows));
                foreach (var field in new[] { "user_id", "video_id", "author_id", "user_active_degree", "tag" })
                {
                    Assert.That(converted.Train.Column(field), Is.EqualTo(kuaiRand.Train.Column(field)), field);
                    Assert.That(converted.Test.Column(field), Is.EqualTo(kuaiRand.Test.Column(field)), field);
                }
                Assert.That(Enumerable.Range(0, converted.Test.Rows).Select(r => converted.Test.KeyOf(r).Scenario),
                    Is.EqualTo(Enumerable.Range(0, kuaiRand.Test.Rows).Select(r => kuaiRand.Test.KeyOf(r).Scenario)));
                Assert.That(converted.Test.LabelColumn(0), Is.EqualTo(kuaiRand.Test.LabelColumn(0)));
            });
        }
        finally { Directory.Delete(table, recursive: true); }
    }
}
