using System.CommandLine;
using System.Text.Json;
using DynRec.Cli;
using DynRec.Cli.Commands;
using DynRec.Data;
using DynRec.Serving;
using DynRec.Tests.Cli;
using DynRec.Tests.Data;
using DynRec.Training;
using DynRec.Training.Checkpointing;
using static TorchSharp.torch;

namespace DynRec.Tests.Serving;

/// <summary>
/// Online scoring of a model trained on a table folder: a request built from a table row's cells must score
/// what `predict` / <see cref="Evaluator.Predict"/> give that row; bad requests are refused with their reason.
/// </summary>
[TestFixture]
public class TableScorerTests
{
    private string _dir = "", _data = "", _run = "";
    private string[] _header = [];
    private string[][] _rows = [];

    private static readonly TrainingServices RealData = RealDataServices.Uncached;

    private static (int Code, string Error) Cli(params string[] args)
    {
        var root = new RootCommand("test") { TrainCommand.Create(RealData), ScoreCommand.Create(RealData) };
        var error = new StringWriter();
        return (CliErrors.Invoke(root, args, error), error.ToString());
    }

    [OneTimeSetUp]
    public void TrainOnATextIdTable()
    {
        _dir = Directory.CreateTempSubdirectory("dynrec-table-score-").FullName;
        _data = TableFixture.WriteRandom(rows: 600, days: 3, seed: 5, textIds: true);
        _run = Path.Combine(_dir, "run");
        TrainedTableModel.Train(_data, _run);
        (_header, _rows) = TrainedTableModel.Rows(_data);
    }

    [OneTimeTearDown]
    public void Delete()
    {
        Directory.Delete(_dir, recursive: true);
        Directory.Delete(_data, recursive: true);
    }

    private static readonly string[] ContextColumns = ["uid", "domain", "age", "device"];
    private static readonly string[] ItemColumns = ["iid", "category", "price"];

    private Dictionary<string, string?> Cells(int sourceRow, IEnumerable<string> columns) =>
        columns.ToDictionary(c => c, c => (string?)_rows[sourceRow][Array.IndexOf(_header, c)]);

    /// <summary>The request of table rows sharing their first row's context (user, domain, age, device).</summary>
    private TableRequest RequestOf(params int[] sourceRows) => new()
    {
        Context = Cells(sourceRows[0], ContextColumns),
        Candidates = sourceRows.Select(r => (IReadOnlyDictionary<string, string?>)Cells(r, ItemColumns)).ToArray(),
    };

    [Test]
    public void RequestsBuiltFromRowsScoreWhatPredictGivesThem()
    {
        using var scorer = TableScorer.Open(_run);
        var split = DataSource.Load(_data, new LoadOptions { UseCache = false, Encoding = scorer.Trained.Encoding });
        var expected = Evaluator.Predict(scorer.Trained.Model, split.Test, 64, CPU);
        var sourceRows = Enumerable.Range(0, split.Test.Rows).Select(r => (int)split.Test.KeyOf(r).TimeMs).ToArray();
        // Every test row as its own one-candidate request, scored in one call (batches of 50 rows).
        scorer.MaxBatchRows = 50;
        var requests = sourceRows.Select(r => RequestOf(r)).ToList();
        var p = scorer.Score(requests);
        Assert.That(scorer.Columns, Is.EqualTo(new[] { "uid", "iid", "age", "category", "price", "device", "domain" }));
        for (var k = 0; k < requests.Count; k++)
            for (var t = 0; t < scorer.Tasks.Count; t++)
                Assert.That(p[k][t][0], Is.EqualTo(expected.Probabilities[t][k]).Within(1e-5), $"test row {k}, task {scorer.Tasks[t]}");
    }

    [Test]
    public void CandidatesOfOneContextScoreAsTheirOwnRows()
    {
        using var scorer = TableScorer.Open(_run);
        // Rows of other users and items, scored in the context of the first one: as if the user saw those items.
        var many = scorer.Score(RequestOf(500, 510, 520));
        for (var c = 0; c < 3; c++)
        {
            var own = new TableRequest
            {
                Context = Cells(500, ContextColumns),
                Candidates = [Cells(500 + 10 * c, ItemColumns)],
            };
            var single = scorer.Score(own);
            for (var t = 0; t < scorer.Tasks.Count; t++) Assert.That(many[t][c], Is.EqualTo(single[t][0]).Within(1e-6));
        }
        // A column may sit in either part; "7.0" reads as 7 where ids are integers (here: an unseen text id, no error).
        var moved = RequestOf(500);
        var context = Cells(500, ContextColumns.Where(c => c != "device"));
        var candidate = Cells(500, ItemColumns.Append("device"));
        Assert.That(scorer.Score(new TableRequest { Context = context, Candidates = [candidate] })[0][0], Is.EqualTo(scorer.Score(moved)[0][0]).Within(1e-6));
    }

    [Test]
    public void BadRequestsAreRefusedWithTheirReason()
    {
        using var scorer = TableScorer.Open(_run);
        string? Problem(Action<Dictionary<string, string?>, Dictionary<string, string?>> edit)
        {
            var context = Cells(500, ContextColumns);
            var candidate = Cells(500, ItemColumns);
            edit(context, candidate);
            return scorer.Problem(new TableRequest { Context = context, Candidates = [candidate] });
        }
        Assert.Multiple(() =>
        {
            Assert.That(Problem((_, _) => { }), Is.Null);
            Assert.That(Problem((c, _) => c["click"] = "1"), Does.Contain("context: 'click' is not a column of this model"));
            Assert.That(Problem((c, _) => c.Remove("device")), Does.Contain("candidate 0: no 'device'"));
            Assert.That(Problem((c, i) => i["uid"] = "u1"), Does.Contain("candidate 0: 'uid' is also in the context"));
            Assert.That(Problem((_, i) => i["price"] = "cheap"), Does.Contain("candidate 0: 'price' is 'cheap', not a number"));
            Assert.That(Problem((c, _) => c["domain"] = "radio"), Does.Contain("candidate 0: domain 'radio' is not a scenario of this model; valid: home, search, video"));
            Assert.That(Problem((c, _) => c["domain"] = null), Does.Contain("candidate 0: no domain"));
            Assert.That(Problem((c, i) => { c["age"] = null; i["price"] = ""; i["iid"] = "never-seen"; }), Is.Null, "missing and unseen values are id 0, as in the table");
            Assert.That(scorer.Problem(new TableRequest { Candidates = [] }), Does.Contain("no candidates"));
            Assert.That(scorer.Problem(RequestOf(500) with { History = ["sku-101"] }), Does.Contain("the model reads no history"));
        });
        Assert.Throws<ArgumentException>(() => scorer.Score(new TableRequest { Candidates = [Cells(500, ItemColumns)] }));
    }

    [Test]
    public void TheScoreCommandServesTableModelsOverJsonLines()
    {
        using var expected = TableScorer.Open(_run);
        var want = expected.Score(RequestOf(500, 510));
        var context = JsonSerializer.Serialize(Cells(500, ContextColumns));
        var candidates = JsonSerializer.Serialize(new[] { Cells(500, ItemColumns), Cells(510, ItemColumns) });
        var requests = Path.Combine(_dir, "requests.jsonl");
        File.WriteAllLines(requests,
        [
            $$"""{"id": "a", "context": {{context}}, "candidates": {{candidates}}}""",
            $$"""{"id": "b", "context": {{context}}, "candidates": [{"iid": true, "category": "c1", "price": 3}]}""",
            $$"""{"id": "c", "candidates": [{"uid": "u3", "domain": "search", "age": null, "device": "d1", "iid": "sku-101", "category": "c1", "price": 151.5}]}""",
            """{"id": "d", "user_id": 10, "tab": 1, "hourmin": 1530, "video_ids": [100]}""",
        ]);
        var output = Path.Combine(_dir, "scores.jsonl");
        var code = ScoreCommand.Run(new ScoreCommand.Arguments(_run, null, requests, output, "cpu", "native", null), RealData,
            new StringReader(""), new StringWriter());
        var answers = File.ReadAllLines(output);
        Assert.That(code, Is.EqualTo(1), "two requests could not be scored");
        Assert.That(answers, Has.Length.EqualTo(4));
        using (var a = JsonDocument.Parse(answers[0]))
        {
            var scores = a.RootElement.GetProperty("scores");
            Assert.That(scores.GetArrayLength(), Is.EqualTo(2));
            for (var c = 0; c < 2; c++)
                for (var t = 0; t < expected.Tasks.Count; t++)
                    Assert.That(scores[c].GetProperty(expected.Tasks[t]).GetSingle(), Is.EqualTo(want[t][c]).Within(1e-6));
        }
        Assert.That(answers[1], Does.Contain("\"id\":\"b\"").And.Contain("'iid' is a JSON true"));
        Assert.That(answers[2], Does.StartWith("""{"id":"c","scores":[{"""), "numbers read as their CSV text; null is missing");
        Assert.That(answers[3], Does.Contain("\"id\":\"d\"").And.Contain("unknown key 'user_id'"), "a KuaiRand request is not a table request");

        var features = Cli("score", "--checkpoint", _run, "--features", "synthetic");
        Assert.That(features.Code, Is.EqualTo(CliErrors.UserError));
        Assert.That(features.Error, Does.Contain("trained on a table folder"));
    }

    [Test]
    public void CorruptedTableRequestLinesEachGetAnAnswerNeverACrash()
    {
        var valid = $$"""{"id": 1, "context": {{JsonSerializer.Serialize(Cells(500, ContextColumns))}}, "candidates": {{JsonSerializer.Serialize(new[] { Cells(510, ItemColumns) })}}}""";
        var rng = new Random(20261129);
        var lines = Enumerable.Range(0, 300).Select(_ => JsonCorruption.Corrupt(valid, rng).Json.Replace('\n', ' ')).Append(valid).ToList();
        var requests = Path.Combine(_dir, "fuzz.jsonl");
        File.WriteAllLines(requests, lines);
        var output = Path.Combine(_dir, "fuzz-out.jsonl");
        var code = ScoreCommand.Run(new ScoreCommand.Arguments(_run, null, requests, output, "cpu", "native", null, 16), RealData,
            new StringReader(""), new StringWriter());
        var answers = File.ReadAllLines(output);
        Assert.That(answers, Has.Length.EqualTo(lines.Count(l => !string.IsNullOrWhiteSpace(l))));
        var errors = answers.Count(a => a.Contains("\"error\""));
        Assert.That(code, Is.EqualTo(errors > 0 ? 1 : 0));
        Assert.That(errors, Is.GreaterThan(50), "most corruptions are rejected");
        Assert.That(answers[^1], Does.StartWith("""{"id":1,"scores":["""), "the valid line after them is still scored");
    }

    [Test]
    public void AKuaiRandModelIsNotATableModel()
    {
        var run = Path.Combine(_dir, "kuairand-run");
        var fixture = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "kuairand_small");
        var result = Cli("train", "--model", "dnn", "--data", fixture, "--out", run, "--epochs", "1", "--set", "train.batch_size=64", "--set", "model.emb_dim=4");
        Assert.That(result.Code, Is.Zero, result.Error);
        var e = Assert.Throws<InvalidDataException>(() => TableScorer.Open(run))!;
        Assert.That(e.Message, Does.Contain("KuaiRand-format data"));
    }
}
