using System.CommandLine;
using DynRec.Cli;
using DynRec.Cli.Commands;
using DynRec.Data;
using DynRec.Data.Synthetic;
using DynRec.Metrics;
using DynRec.Serving;
using DynRec.Tests.Cli;
using DynRec.Training;
using DynRec.Training.Checkpointing;
using static TorchSharp.torch;

namespace DynRec.Tests.Serving;

/// <summary>
/// The online scorer encodes a request as the preprocessor encodes a log row: requests built from a
/// data set's rows must score what `predict` / <see cref="Evaluator.Predict"/> give those rows.
/// </summary>
public class ScorerTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("dynrec-score-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private static readonly TrainingServices RealData = RealDataServices.Uncached;

    private static string Fixture(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", name);

    private static (int Code, string Error) Cli(params string[] args)
    {
        var root = new RootCommand("test") { TrainCommand.Create(RealData), PredictCommand.Create(RealData), ScoreCommand.Create(RealData) };
        var error = new StringWriter();
        return (CliErrors.Invoke(root, args, error), error.ToString());
    }

    /// <summary>Trains <paramref name="model"/> for one small epoch on <paramref name="data"/>; returns the run folder.</summary>
    private string Train(string model, string data, params string[] extra)
    {
        var run = Path.Combine(_dir, "run-" + model);
        var result = Cli(["train", "--model", model, "--data", data, "--out", run, "--epochs", "1", "--set", "train.batch_size=64",
            "--set", "model.emb_dim=4", "--set", "train.early_stopping.patience=0", .. extra]);
        Assert.That(result.Code, Is.Zero, result.Error);
        return run;
    }

    private string Synthetic()
    {
        var folder = Path.Combine(_dir, "synthetic");
        SyntheticGenerator.Generate(folder, new SyntheticConfig { Seed = 11, Users = 60, Videos = 50, Days = 3, Rows = 1200 });
        return folder;
    }

    /// <summary>The request a data set row stands for, in raw log values (hour's minutes do not matter to the features).</summary>
    private static ScoreRequest RequestOf(Dataset rows, int r, FeatureEncoding encoding, params long[] extraCandidates)
    {
        var key = rows.KeyOf(r);
        var videos = encoding.CategoriesOf("video_id");
        // A clicked video the model never saw (id 0 inside the sequence) or padding: any unknown raw id.
        var clicks = rows.SequenceOf(r).ToArray().Select(id => id == 0 ? -1L : long.Parse(videos[id - 1])).ToArray();
        return new ScoreRequest
        {
            UserId = key.UserId.Number,
            Tab = (int)key.Scenario.Number,
            HourMin = (rows.Id(rows.Schema.IndexOf("hour"), r) - 1) * 100 + 7,
            IsRand = rows.Id(rows.Schema.IndexOf("is_rand"), r) - 1,
            RecentClicks = clicks,
            VideoIds = [key.VideoId.Number, .. extraCandidates],
        };
    }

    private static void AssertScoresMatch(Scorer scorer, Dataset rows, PredictionSet expected, FeatureEncoding encoding)
    {
        var requests = Enumerable.Range(0, rows.Rows).Select(r => RequestOf(rows, r, encoding)).ToList();
        var scores = scorer.Score(requests);
        for (var r = 0; r < rows.Rows; r++)
            for (var t = 0; t < expected.Tasks.Count; t++)
                Assert.That(scores[r][t][0], Is.EqualTo(expected.Probabilities[t][r]).Within(2e-6), $"row {r}, task {expected.Tasks[t]}");
    }

    [TestCase("pepnet", "dense")]
    [TestCase("pepnet", "lazy_adam")]
    [TestCase("apg", "dense")]
    [TestCase("m2m", "dense")]
    [TestCase("dnn", "rowwise_adagrad")]
    public void RequestsBuiltFromRowsScoreWhatEvaluatorPredicts(string model, string embeddings)
    {
        var data = Synthetic();
        var run = Train(model, data, "--set", $"model.embedding_optimizer={embeddings}");
        using var scorer = Scorer.Open(run, data);
        var encoding = scorer.Trained.Encoding!;
        var split = DataSource.Load(data, scorer.Trained.DataOptions(new LoadOptions { UseCache = false }));
        foreach (var rows in new[] { split.Test, split.Train })
        {
            var expected = Evaluator.Predict(scorer.Trained.Model, rows, 256, CPU);
            scorer.MaxBatchRows = 8192;
            AssertScoresMatch(scorer, rows, expected, encoding);
            scorer.MaxBatchRows = 37;  // several forward passes, a request's rows split across them
            AssertScoresMatch(scorer, rows, expected, encoding);
        }

        // Several candidates in one request: each scores as its own row would.
        var test = split.Test;
        var other = Enumerable.Range(0, test.Rows).First(r => test.KeyOf(r).VideoId != test.KeyOf(0).VideoId);
        var request = RequestOf(test, 0, encoding, test.KeyOf(other).VideoId.Number, test.KeyOf(0).VideoId.Number);
        var p = scorer.Score(request);
        var single = scorer.Score(request with { VideoIds = [test.KeyOf(other).VideoId.Number] });
        for (var t = 0; t < scorer.Tasks.Count; t++)
        {
            Assert.That(p[t], Has.Length.EqualTo(3));
            Assert.That(p[t][2], Is.EqualTo(p[t][0]).Within(2e-6));
            Assert.That(p[t][1], Is.EqualTo(single[t][0]).Within(2e-6));
        }
    }

    [TestCase("kuairand_small")]
    [TestCase("kuairand_stats")]
    public void ImpressionLogRowsScoreWhatPredictWrites(string fixture)
    {
        var run = Train("pepnet", Fixture(fixture));
        // The last day as an impression log: user 40 is in user_features but never in a train row (user_id 0, its
        // table features known); video 500 and user 77 are in no train row either, and 77 in no table.
        var toScore = Path.Combine(_dir, "to-score");
        Directory.CreateDirectory(toScore);
        foreach (var f in Directory.GetFiles(Fixture(fixture))) File.Copy(f, Path.Combine(toScore, Path.GetFileName(f)));
        var log = Directory.GetFiles(toScore, "log_standard_4_10*").Single();
        File.WriteAllLines(log, new[]
        {
            "user_id,video_id,date,hourmin,time_ms,is_rand,tab",
            "10,400,20220410,2300,1649602800000,0,0",
            "40,200,20220410,1415,1649571300000,1,1",
            "77,500,20220410,5,1649571300001,0,6",
            "20,300,20220410,1200,1649571300002,0,4",
        });
        var csv = Path.Combine(_dir, "scores.csv");
        var result = Cli("predict", "--checkpoint", run, "--data", toScore, "--out", csv);
        Assert.That(result.Code, Is.Zero, result.Error);
        var lines = File.ReadAllLines(csv);

        using var scorer = Scorer.Open(run, toScore);
        var split = DataSource.Load(toScore, scorer.Trained.DataOptions(new LoadOptions { UseCache = false }));
        Assert.That(split.Test.Rows, Is.EqualTo(4));
        for (var r = 0; r < split.Test.Rows; r++)
        {
            var p = scorer.Score(RequestOf(split.Test, r, scorer.Trained.Encoding!));
            var cells = lines[r + 1].Split(',');
            for (var t = 0; t < scorer.Tasks.Count; t++)
                Assert.That(p[t][0], Is.EqualTo(float.Parse(cells[6 + t], System.Globalization.CultureInfo.InvariantCulture)).Within(2e-6),
                    $"row {r} ({lines[r + 1]}), task {scorer.Tasks[t]}");
        }
    }

    [Test]
    public void MalformedRequestsAreRejectedWithTheReason()
    {
        var run = Train("dnn", Fixture("kuairand_small"));
        using var scorer = Scorer.Open(run, Fixture("kuairand_small"));
        var good = new ScoreRequest { UserId = 10, Tab = 1, HourMin = 1530, VideoIds = [100, 200] };
        Assert.That(scorer.Score(good)[0], Has.Length.EqualTo(2));
        Assert.That(scorer.Score(good with { VideoIds = [] })[0], Is.Empty);
        Assert.That(() => scorer.Score(good with { Tab = 3 }),
            Throws.ArgumentException.With.Message.EqualTo("the request tab 3 is not a scenario of this model; valid tabs: 0, 1, 2, 4, 6"));
        Assert.That(() => scorer.Score(good with { HourMin = 1260 }), Throws.ArgumentException.With.Message.Contains("hourmin 1260 is not a time of day"));
        Assert.That(() => scorer.Score(good with { HourMin = 2400 }), Throws.ArgumentException.With.Message.Contains("hourmin 2400"));
        Assert.That(() => scorer.Score(good with { IsRand = 2 }), Throws.ArgumentException.With.Message.Contains("is_rand must be 0 or 1, got 2"));
        Assert.That(() => scorer.Score(good with { VideoIds = null! }), Throws.ArgumentException.With.Message.Contains("has no video_ids"));
        Assert.That(() => scorer.Score([good, good with { Tab = -1 }]), Throws.ArgumentException.With.Message.StartsWith("request 1 tab -1"));
        Assert.That(() => scorer.Score([good, null!]), Throws.ArgumentException.With.Message.EqualTo("request 1 is null"));
    }

    [Test]
    public void ConcurrentCallersGetTheSameScoresAsOneCaller()
    {
        var run = Train("pepnet", Fixture("kuairand_stats"));
        using var scorer = Scorer.Open(run, Fixture("kuairand_stats"));
        var requests = Enumerable.Range(0, 8).Select(i => new ScoreRequest
        {
            UserId = 10 * (1 + i % 4), Tab = new[] { 0, 1, 2, 4, 6 }[i % 5], HourMin = 100 * i, RecentClicks = [300, 100],
            VideoIds = [100, 200, 300, 400, 500],
        }).ToList();
        var expected = requests.Select(scorer.Score).ToList();
        var got = new float[4][][][];
        var threads = Enumerable.Range(0, 4).Select(k => new Thread(() => got[k] = requests.Select(scorer.Score).ToArray())).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        for (var k = 0; k < 4; k++)
            for (var i = 0; i < requests.Count; i++)
                for (var t = 0; t < scorer.Tasks.Count; t++)
                    Assert.That(got[k][i][t], Is.EqualTo(expected[i][t]), $"thread {k}, request {i}");
    }

    [Test]
    public void OpeningReportsMissingPiecesByName()
    {
        var run = Train("dnn", Fixture("kuairand_stats"));
        // The model uses video statistics: a folder without them cannot fill its fields.
        Assert.That(() => Scorer.Open(run, Fixture("kuairand_small")),
            Throws.InstanceOf<DataFormatException>().With.Message.Contains("video_features_statistic_*.csv").And.Message.Contains("show_cnt"));
        Assert.That(() => Scorer.Open(run, Path.Combine(_dir, "nowhere")), Throws.InstanceOf<DataFormatException>().With.Message.Contains("data folder not found"));
        // Side tables alone are enough (no log).
        var tables = Path.Combine(_dir, "tables");
        Directory.CreateDirectory(tables);
        foreach (var f in Directory.GetFiles(Fixture("kuairand_stats")).Where(f => !Path.GetFileName(f).StartsWith("log_", StringComparison.Ordinal)))
            File.Copy(f, Path.Combine(tables, Path.GetFileName(f)));
        using (var scorer = Scorer.Open(run, tables))
            Assert.That(scorer.Score(new ScoreRequest { UserId = 10, Tab = 0, HourMin = 0, VideoIds = [100] })[0][0], Is.InRange(0f, 1f));
        var checkpoint = CheckpointStore.Resolve(run);
        File.Delete(Path.Combine(checkpoint, FeatureEncoding.FileName));
        Assert.That(() => Scorer.Open(run, tables), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("has no encoding.json"));
    }

    [Test]
    public void ScoreCommandAnswersEveryLineAndKeepsGoingPastBadOnes()
    {
        var run = Train("pepnet", Fixture("kuairand_small"));
        var requests = Path.Combine(_dir, "requests.jsonl");
        File.WriteAllLines(requests, new[]
        {
            """{"id": "a", "user_id": 10, "tab": 1, "hourmin": 1530, "recent_clicks": [300, 100], "video_ids": [100, 200, 999]}""",
            "",
            """{"id": 2, "user_id": 10, "tab": 3, "hourmin": 1530, "video_ids": [100]}""",
            """{"user_id": 10, "tab": 1, "hourmin": 1530, "video_ids": [100], "colour": "red"}""",
            """{"user_id": 10, "tab": 1, "video_ids": [100]}""",
            """not json""",
            """{"user_id": 40, "tab": 0, "hourmin": 0, "is_rand": 1, "video_ids": [400]}""",
        });
        var output = Path.Combine(_dir, "scores.jsonl");
        var result = Cli("score", "--checkpoint", run, "--features", Fixture("kuairand_small"), "--requests", requests, "--out", output);
        Assert.That(result.Code, Is.EqualTo(1), result.Error);
        var lines = File.ReadAllLines(output);
        Assert.That(lines, Has.Length.EqualTo(6));
        using var first = System.Text.Json.JsonDocument.Parse(lines[0]);
        Assert.That(first.RootElement.GetProperty("id").GetString(), Is.EqualTo("a"));
        var scores = first.RootElement.GetProperty("scores");
        Assert.That(scores.GetArrayLength(), Is.EqualTo(3));
        Assert.That(scores[2].GetProperty("video_id").GetInt64(), Is.EqualTo(999));
        using (var scorer = Scorer.Open(run, Fixture("kuairand_small")))
        {
            var p = scorer.Score(new ScoreRequest { UserId = 10, Tab = 1, HourMin = 1530, RecentClicks = [300, 100], VideoIds = [100, 200, 999] });
            for (var c = 0; c < 3; c++)
                for (var t = 0; t < scorer.Tasks.Count; t++)
                    Assert.That(scores[c].GetProperty(scorer.Tasks[t]).GetSingle(), Is.EqualTo(p[t][c]));
        }
        Assert.That(lines[1], Does.StartWith("""{"id":2,"line":3,"error":"the request tab 3 is not a scenario"""));
        Assert.That(lines[2], Does.StartWith("""{"line":4,"error":""").And.Contain("colour"));
        Assert.That(lines[3], Does.StartWith("""{"line":5,"error":""").And.Contain("hourmin"));
        Assert.That(lines[4], Does.StartWith("""{"line":6,"error":"""));
        Assert.That(lines[5], Does.StartWith("""{"scores":[{"video_id":400,"is_click":"""));

        // One request per forward pass gives the same answers (up to the GEMMs' blocking by batch size).
        var single = Path.Combine(_dir, "single.jsonl");
        Assert.That(Cli("score", "--checkpoint", run, "--features", Fixture("kuairand_small"), "--requests", requests, "--out", single,
            "--batch-requests", "1").Code, Is.EqualTo(1));
        var singleLines = File.ReadAllLines(single);
        Assert.That(singleLines, Has.Length.EqualTo(lines.Length));
        using (var one = System.Text.Json.JsonDocument.Parse(singleLines[0]))
            for (var c = 0; c < 3; c++)
                Assert.That(one.RootElement.GetProperty("scores")[c].GetProperty("is_click").GetSingle(),
                    Is.EqualTo(scores[c].GetProperty("is_click").GetSingle()).Within(1e-6));
        Assert.That(singleLines[1..5], Is.EqualTo(lines[1..5]), "error lines do not depend on batching");

        // Standard input to standard output, one answer per line as it arrives.
        var stdout = new StringWriter();
        var code = ScoreCommand.Run(new ScoreCommand.Arguments(run, Fixture("kuairand_small"), "-", "-", "cpu", "native", null), RealData,
            new StringReader("""{"user_id": 20, "tab": 2, "hourmin": 900, "video_ids": [300]}""" + "\n"), stdout);
        Assert.That(code, Is.Zero);
        Assert.That(stdout.ToString().TrimEnd().Split('\n'), Has.Length.EqualTo(1));

        AssertUserError(Cli("score", "--checkpoint", run, "--features", Path.Combine(_dir, "none")), "--features: folder not found");
        AssertUserError(Cli("score", "--checkpoint", run, "--requests", Path.Combine(_dir, "none.jsonl")), "--requests: file not found");
        AssertUserError(Cli("score", "--checkpoint", run, "--model", "apg"), "holds a 'pepnet' model, not 'apg'");
        AssertUserError(Cli("score", "--checkpoint", run, "--batch-requests", "0"), "--batch-requests must be >= 1, got 0");
    }

    [Test]
    public void CorruptedRequestLinesEachGetAnAnswerNeverACrash()
    {
        // Seeded: 400 corruptions of a valid request (JSON syntax, values nulled, retyped or removed, extreme
        // numbers); each line must get exactly one answer line, a score or an error, and the command must go on.
        var run = Train("dnn", Fixture("kuairand_small"));
        const string valid = """{"id": 1, "user_id": 10, "tab": 1, "hourmin": 1530, "is_rand": 0, "recent_clicks": [300, 100], "video_ids": [100, 200]}""";
        var rng = new Random(20261128);
        var lines = new List<string>();
        for (var i = 0; i < 400; i++)
        {
            var (json, _) = JsonCorruption.Corrupt(valid, rng);
            if (rng.Next(8) == 0) json = json.Replace("1530", new[] { "99999999999", "-5", "1e30", "2400", "\"noon\"" }[rng.Next(5)]);
            lines.Add(json.Replace('\n', ' '));
        }
        lines.Add(valid);
        var requests = Path.Combine(_dir, "fuzz.jsonl");
        File.WriteAllLines(requests, lines);
        var output = Path.Combine(_dir, "fuzz-out.jsonl");
        var code = ScoreCommand.Run(new ScoreCommand.Arguments(run, Fixture("kuairand_small"), requests, output, "cpu", "native", null, 16),
            RealData, new StringReader(""), new StringWriter());
        var answers = File.ReadAllLines(output);
        Assert.That(answers, Has.Length.EqualTo(lines.Count(l => !string.IsNullOrWhiteSpace(l))));
        var errors = answers.Count(a => a.Contains("\"error\""));
        Assert.That(code, Is.EqualTo(errors > 0 ? 1 : 0));
        Assert.That(errors, Is.GreaterThan(100), "most corruptions are rejected");
        Assert.That(answers[^1], Does.StartWith("""{"id":1,"scores":["""), "the valid line after them is still scored");
        foreach (var a in answers)
            using (var doc = System.Text.Json.JsonDocument.Parse(a))
                Assert.That(doc.RootElement.TryGetProperty("scores", out _) || doc.RootElement.TryGetProperty("error", out _), a);
    }

    private static void AssertUserError((int Code, string Error) result, string expected)
    {
        Assert.That(result.Code, Is.EqualTo(CliErrors.UserError), result.Error);
        Assert.That(result.Error.Trim().Split('\n'), Has.Length.EqualTo(1), result.Error);
        Assert.That(result.Error, Does.StartWith("dynrec: error: ").And.Contain(expected));
    }
}
