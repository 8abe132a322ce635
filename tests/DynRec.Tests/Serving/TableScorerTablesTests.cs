using System.Text.Json;
using DynRec.Cli.Commands;
using DynRec.Data;
using DynRec.Serving;
using DynRec.Tests.Cli;
using DynRec.Tests.Data;
using DynRec.Training;
using static TorchSharp.torch;

namespace DynRec.Tests.Serving;

/// <summary>
/// Scoring a table model with its folder's user and item tables: a request gives the user, the scenario, the
/// context and the items; the user's and items' features are looked up as the loader joins them, so the scores
/// are what `predict` gives the same rows. A request's own cells win over the tables.
/// </summary>
[TestFixture]
public class TableScorerTablesTests
{
    private string _dir = "", _wide = "", _data = "", _run = "";
    private string[] _header = [];
    private string[][] _rows = [];

    private static readonly TrainingServices RealData = RealDataServices.Uncached;

    [OneTimeSetUp]
    public void TrainOnATableWithUserAndItemTables()
    {
        _dir = Directory.CreateTempSubdirectory("dynrec-table-tables-").FullName;
        _wide = TableFixture.WriteRandom(rows: 600, days: 3, seed: 11, textIds: true);
        _data = TableFixture.SplitIntoSideTables(_wide);
        // The model also reads each user's last 5 clicked items (of earlier days); a request gives them as "history".
        File.AppendAllText(Path.Combine(_data, DynRec.Data.Table.TableSchema.FileName), "history: {task: click, length: 5}\n");
        _run = Path.Combine(_dir, "run");
        TrainedTableModel.Train(_data, _run);
        (_header, _rows) = TrainedTableModel.Rows(_wide);
        var split = DataSource.Load(_data, new LoadOptions { UseCache = false });
        var items = split.Encoding.CategoriesOf("iid");
        for (var r = 0; r < split.Test.Rows; r++)
            _history[(int)split.Test.KeyOf(r).TimeMs] = split.Test.SequenceOf(r).ToArray().Where(id => id > 0).Select(id => (string?)items[id - 1]).ToArray();
        Assert.That(_history.Values, Has.Some.Not.Empty, "test rows with a history");
    }

    private readonly Dictionary<int, string?[]> _history = new();

    [OneTimeTearDown]
    public void Delete()
    {
        Directory.Delete(_dir, recursive: true);
        Directory.Delete(_wide, recursive: true);
        Directory.Delete(_data, recursive: true);
    }

    private Dictionary<string, string?> Cells(int sourceRow, params string[] columns) =>
        columns.ToDictionary(c => c, c => (string?)_rows[sourceRow][Array.IndexOf(_header, c)]);

    /// <summary>Only the impression's own cells: the user, scenario and device in the context, the item per candidate.</summary>
    private TableRequest Narrow(int sourceRow) => new()
    {
        Context = Cells(sourceRow, "uid", "domain", "device"),
        Candidates = [Cells(sourceRow, "iid")],
        History = _history[sourceRow],
    };

    /// <summary>Every cell of the wide table's row.</summary>
    private TableRequest Wide(int sourceRow) => new()
    {
        Context = Cells(sourceRow, "uid", "domain", "device", "age"),
        Candidates = [Cells(sourceRow, "iid", "category", "price")],
        History = _history[sourceRow],
    };

    [Test]
    public void NarrowRequestsScoreWhatPredictGivesTheirRows()
    {
        using var scorer = TableScorer.Open(_run, tables: _data);
        using var plain = TableScorer.Open(_run);
        var split = DataSource.Load(_data, new LoadOptions { UseCache = false, Encoding = scorer.Trained.Encoding });
        var expected = Evaluator.Predict(scorer.Trained.Model, split.Test, 64, CPU);
        var sourceRows = Enumerable.Range(0, split.Test.Rows).Select(r => (int)split.Test.KeyOf(r).TimeMs).ToArray();
        var narrow = scorer.Score(sourceRows.Select(Narrow).ToList());
        var wide = plain.Score(sourceRows.Select(Wide).ToList());
        Assert.That(scorer.TableColumns, Is.EqualTo(new[] { "user: age", "item: category, price" }));
        Assert.That(plain.TableColumns, Is.Empty);
        Assert.That(scorer.History, Is.EqualTo(new SequenceField("recent_click", "iid", 5)));
        var withHistory = sourceRows.First(r => _history[r].Length > 0);
        Assert.That(scorer.Score(Narrow(withHistory) with { History = [] })[0][0], Is.Not.EqualTo(scorer.Score(Narrow(withHistory))[0][0]),
            "the history is read");
        for (var k = 0; k < sourceRows.Length; k++)
            for (var t = 0; t < scorer.Tasks.Count; t++)
            {
                Assert.That(narrow[k][t][0], Is.EqualTo(expected.Probabilities[t][k]).Within(1e-5), $"test row {k}, task {scorer.Tasks[t]}");
                Assert.That(narrow[k][t][0], Is.EqualTo(wide[k][t][0]).Within(1e-6), $"test row {k}: the tables give the wide row's cells");
            }
    }

    [Test]
    public void ARequestsOwnCellsWinAndAnEntityWithoutARowHasMissingFeatures()
    {
        using var scorer = TableScorer.Open(_run, tables: _data);
        using var plain = TableScorer.Open(_run);
        // Row 500's user with another age, and one of its candidates with another price.
        var own = Narrow(500) with
        {
            Context = new Dictionary<string, string?>(Narrow(500).Context) { ["age"] = "a3" },
            Candidates = [new Dictionary<string, string?> { ["iid"] = _rows[500][1], ["price"] = "1.5" }],
        };
        var wide = Wide(500) with
        {
            Context = new Dictionary<string, string?>(Wide(500).Context) { ["age"] = "a3" },
            Candidates = [new Dictionary<string, string?>(Wide(500).Candidates[0]) { ["price"] = "1.5" }],
        };
        var unknown = new TableRequest { Context = new Dictionary<string, string?> { ["uid"] = "u-new", ["domain"] = "home", ["device"] = "d0" },
            Candidates = [new Dictionary<string, string?> { ["iid"] = "sku-none" }] };
        var missing = new TableRequest
        {
            Context = new Dictionary<string, string?> { ["uid"] = "u-new", ["domain"] = "home", ["device"] = "d0", ["age"] = null },
            Candidates = [new Dictionary<string, string?> { ["iid"] = "sku-none", ["category"] = null, ["price"] = null }],
        };
        Assert.Multiple(() =>
        {
            Assert.That(scorer.Score(own)[0][0], Is.EqualTo(plain.Score(wide)[0][0]).Within(1e-6));
            Assert.That(scorer.Score(own)[0][0], Is.Not.EqualTo(scorer.Score(Narrow(500))[0][0]), "the own cells changed the score");
            Assert.That(scorer.Score(unknown)[0][0], Is.EqualTo(plain.Score(missing)[0][0]).Within(1e-6));
            // Without the item, nothing says which row holds its features.
            Assert.That(scorer.Problem(Narrow(500) with { Candidates = [new Dictionary<string, string?>()] }), Does.Contain("no 'iid'"));
        });
    }

    [Test]
    public void TablesThatDoNotFitTheModelAreRefused()
    {
        var noTables = TableFixture.WriteRandom(rows: 60, days: 2, seed: 1);
        var otherKey = TableFixture.SplitIntoSideTables(noTables);
        try
        {
            var schema = Path.Combine(otherKey, DynRec.Data.Table.TableSchema.FileName);
            File.WriteAllText(schema, File.ReadAllText(schema).Replace("user: uid", "user: customer").Replace("uid,", "customer,"));
            File.WriteAllText(Path.Combine(otherKey, "users.csv"), File.ReadAllText(Path.Combine(otherKey, "users.csv")).Replace("uid,", "customer,"));
            var none = Assert.Throws<DataFormatException>(() => TableScorer.Open(_run, tables: noTables))!;
            var key = Assert.Throws<InvalidDataException>(() => TableScorer.Open(_run, tables: otherKey))!;
            var notTable = Assert.Throws<DataFormatException>(() => TableScorer.Open(_run, tables: _dir))!;
            Assert.Multiple(() =>
            {
                Assert.That(none.Message, Does.Contain("no user_table or item_table"));
                Assert.That(key.Message, Does.Contain("keyed by 'customer', which this model does not read"));
                Assert.That(notTable.Message, Does.Contain("not a table folder"));
            });
        }
        finally
        {
            Directory.Delete(noTables, recursive: true);
            Directory.Delete(otherKey, recursive: true);
        }
    }

    [Test]
    public void TheScoreCommandLooksFeaturesUpInTheFolderOfFeatures()
    {
        using var expected = TableScorer.Open(_run, tables: _data);
        var want = expected.Score(Narrow(510));
        var requests = Path.Combine(_dir, "narrow.jsonl");
        File.WriteAllLines(requests,
        [
            $$"""{"id": 1, "context": {{JsonSerializer.Serialize(Narrow(510).Context)}}, "candidates": {{JsonSerializer.Serialize(Narrow(510).Candidates)}}, "history": {{JsonSerializer.Serialize(Narrow(510).History)}}}""",
        ]);
        var output = Path.Combine(_dir, "narrow-out.jsonl");
        var code = ScoreCommand.Run(new ScoreCommand.Arguments(_run, _data, requests, output, "cpu", "native", null), RealData,
            new StringReader(""), new StringWriter());
        Assert.That(code, Is.Zero);
        using var answer = JsonDocument.Parse(File.ReadAllLines(output)[0]);
        var scores = answer.RootElement.GetProperty("scores")[0];
        for (var t = 0; t < expected.Tasks.Count; t++)
            Assert.That(scores.GetProperty(expected.Tasks[t]).GetSingle(), Is.EqualTo(want[t][0]).Within(1e-6));
        // Without the tables the same request lacks the features.
        var without = Path.Combine(_dir, "narrow-plain.jsonl");
        Assert.That(ScoreCommand.Run(new ScoreCommand.Arguments(_run, null, requests, without, "cpu", "native", null), RealData,
            new StringReader(""), new StringWriter()), Is.EqualTo(1));
        Assert.That(File.ReadAllText(without), Does.Contain("no 'age'"));
    }
}
