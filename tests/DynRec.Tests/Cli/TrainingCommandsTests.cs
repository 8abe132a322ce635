using System.Globalization;
using Spectre.Console;
using System.CommandLine;
using DynRec.Cli;
using DynRec.Cli.Commands;
using DynRec.Tests.Training;
using static TorchSharp.torch;

namespace DynRec.Tests.Cli;

/// <summary>The train/eval/predict/bench commands run in-process with fake data and a fake model.</summary>
public class TrainingCommandsTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("dynrec-cli-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private static readonly TrainingServices Fakes = new()
    {
        LoadData = _ => new LoadedData(FakeBatchSource.DefaultSchema, new FakeBatchSource(600, 1), new FakeBatchSource(200, 2)),
        BuildModel = FakeModel.Builder,
    };

    private static (int Code, string Error) Run(TrainingServices services, params string[] args)
    {
        var root = new RootCommand("test")
        {
            TrainCommand.Create(services), EvalCommand.Create(services), PredictCommand.Create(services), BenchCommand.Create(services),
        };
        var error = new StringWriter();
        var code = CliErrors.Invoke(root, args, error);
        return (code, error.ToString());
    }

    private static (int Code, string Error) Run(params string[] args) => Run(Fakes, args);

    /// <summary>A user error: exit code 2 and exactly one line on stderr, containing <paramref name="expected"/>.</summary>
    private static void AssertUserError((int Code, string Error) result, string expected)
    {
        Assert.That(result.Code, Is.EqualTo(CliErrors.UserError), result.Error);
        var lines = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), result.Error);
        Assert.That(lines[0], Does.StartWith("dynrec: error: ").And.Contain(expected));
        Assert.That(result.Error, Does.Not.Contain("   at "), "no stack trace");
    }

    private string[] Tiny(params string[] extra) =>
        ["--set", "train.batch_size=64", "--set", "model.emb_dim=4", "--set", "train.early_stopping.patience=0", .. extra];

    [Test]
    public void UnknownModel() =>
        AssertUserError(Run("train", "--model", "deepfm"), "unknown model 'deepfm'; valid models: pepnet, apg, m2m, dnn, shared_bottom, mmoe");

    [Test]
    public void BadConfigKeyOrValue()
    {
        AssertUserError(Run("train", "--model", "dnn", "--set", "train.lrr=1"), "train.lrr: unknown key; valid keys in train: epochs, batch_size");
        AssertUserError(Run("train", "--model", "dnn", "--set", "model.dropout=high"), "model.dropout: expected a number, got 'high'");
        AssertUserError(Run("train", "--model", "dnn", "--set", "train.checkpoint_every_steps=-1"), "train.checkpoint_every_steps");
        AssertUserError(Run("train", "--model", "pepnet", "--set", "model.activation=gelu"), "model.activation: expected one of none, relu, sigmoid, tanh, leaky_relu, got 'gelu'");
        var config = Path.Combine(_dir, "apg.yaml");
        File.WriteAllText(config, "model:\n  name: apg\n");
        AssertUserError(Run("train", "--model", "dnn", "--config", config), "the config file is for 'apg' but --model is 'dnn'");
        AssertUserError(Run("train", "--model", "dnn", "--config", Path.Combine(_dir, "none.yaml")), "config file not found");
    }

    [Test]
    public void BadOptionValues()
    {
        AssertUserError(Run("train", "--model", "dnn", "--data", Path.Combine(_dir, "no-such-folder")), "data folder not found");
        AssertUserError(Run("train", "--model", "dnn", "--kernels", "fast"), "--kernels: unknown kernels 'fast'; valid: native, reference");
        AssertUserError(Run("train", "--model", "dnn", "--device", "tpu"), "--device: unknown device 'tpu'; valid: cpu, cuda, cuda:N");
        AssertUserError(Run("train", "--model", "dnn", "--epochs", "many"), "'many'");
        AssertUserError(Run("train", "--model", "dnn", "--nonsense"), "--nonsense");
        AssertUserError(Run("train", "--model", "dnn", "--resume"), "--resume needs --out");
        AssertUserError(Run("train", "--model", "dnn", "--resume", "--out", _dir), "no complete checkpoint");
    }

    [Test]
    public void CudaWithoutAGpu()
    {
        Assume.That(cuda.is_available(), Is.False, "this machine has a GPU");
        AssertUserError(Run("train", "--model", "dnn", "--device", "cuda"), "CUDA was requested but TorchSharp sees no GPU");
    }

    [Test]
    public void UnconnectedDataLoaderIsReportedNotCrashed() =>
        AssertUserError(Run(TrainingServices.Default, "train", "--model", "dnn"), "no data loader connected");

    [Test]
    public void TrainEvalPredictResumeEndToEnd()
    {
        var run = Path.Combine(_dir, "runs", "dnn-1");
        var result = Run(["train", "--model", "dnn", "--out", run, "--epochs", "1", "--kernels", "reference", .. Tiny()]);
        Assert.That(result.Code, Is.Zero, result.Error);
        foreach (var f in new[] { "config.yaml", "metrics.json", "history.json", "loss.png", "auc_is_click.png", "checkpoints/best", "checkpoints/last" })
            Assert.That(File.Exists(Path.Combine(run, f)), Is.True, f);
        Assert.That(File.ReadAllLines(Path.Combine(_dir, "runs", "runs.csv")), Has.Length.EqualTo(2), "runs.csv beside the run folder");

        AssertUserError(Run(["train", "--model", "dnn", "--out", run, .. Tiny()]), "already holds a run; pass --resume");
        AssertUserError(Run("train", "--model", "mmoe", "--out", run, "--resume"), "is of model 'dnn', not 'mmoe'");
        result = Run("train", "--out", run, "--resume", "--epochs", "2");
        Assert.That(result.Code, Is.Zero, result.Error);
        var history = File.ReadAllText(Path.Combine(run, "history.json"));
        Assert.That(history, Does.Contain("\"epoch\": 2"));
        Assert.That(File.ReadAllLines(Path.Combine(_dir, "runs", "runs.csv")), Has.Length.EqualTo(3));

        var evalOut = Path.Combine(_dir, "eval");
        result = Run("eval", "--checkpoint", run, "--out", evalOut);
        Assert.That(result.Code, Is.Zero, result.Error);
        var metrics = DynRec.Metrics.MetricsReport.ReadJson(File.ReadAllText(Path.Combine(evalOut, "metrics.json")));
        Assert.That(metrics.Keys, Does.Contain("auc_is_click").And.Contain("gauc_long_view_tab2").And.Contain("auc_oracle_is_click"));

        var csv = Path.Combine(_dir, "predictions.csv");
        result = Run("predict", "--checkpoint", Path.Combine(run, "checkpoints", "last"), "--out", csv);
        Assert.That(result.Code, Is.Zero, result.Error);
        var lines = File.ReadAllLines(csv);
        Assert.That(lines[0], Is.EqualTo("row_id,user_id,video_id,time_ms,date,tab,is_click,long_view,is_click_label,long_view_label"));
        Assert.That(lines, Has.Length.EqualTo(201));
        var test = new FakeBatchSource(200, 2);
        using (var batch = test.GetBatch(Enumerable.Range(0, 200).ToArray()))
        {
            var y = batch.Labels.data<float>().ToArray();
            for (var r = 0; r < 200; r++)
            {
                var cells = lines[r + 1].Split(',');
                var k = test.KeyOf(r);
                Assert.That(cells[..6], Is.EqualTo(new[] { $"{r}", $"{k.UserId}", $"{k.VideoId}", $"{k.TimeMs}", $"{k.Date}", $"{k.Scenario}" }), $"row {r} keys");
                Assert.That(double.Parse(cells[6], System.Globalization.CultureInfo.InvariantCulture), Is.InRange(0.0, 1.0));
                Assert.That(cells[8..], Is.EqualTo(new[] { $"{y[r * 2]}", $"{y[r * 2 + 1]}" }), $"row {r} labels");
            }
        }

        AssertUserError(Run("eval", "--checkpoint", run, "--model", "pepnet"), "holds a 'dnn' model, not 'pepnet'");
        var noData = new TrainingServices { LoadData = _ => throw new InvalidOperationException("data loaded"), BuildModel = FakeModel.Builder };
        AssertUserError(Run(noData, "predict", "--checkpoint", run, "--model", "m2m"), "holds a 'dnn' model, not 'm2m'"); // before loading data
        AssertUserError(Run("eval", "--checkpoint", Path.Combine(_dir, "nowhere")), "checkpoint not found");
        AssertUserError(Run("predict", "--checkpoint", run, "--split", "valid"), "unknown split 'valid'; valid: test, validation, train");
        AssertUserError(Run("predict", "--checkpoint", run, "--split", "validation"), "this checkpoint's run had no validation split");
    }

    [Test]
    public void ResumeEvalAndPredictDefaultToTheDataTheRunTrainedOn()
    {
        var requested = new List<string>();
        var recording = new TrainingServices
        {
            LoadData = request =>
            {
                requested.Add(request.Data);
                return new LoadedData(FakeBatchSource.DefaultSchema, new FakeBatchSource(600, 1), new FakeBatchSource(200, 2));
            },
            BuildModel = FakeModel.Builder,
        };
        var run = Path.Combine(_dir, "run");
        var folder = Directory.CreateDirectory(Path.Combine(_dir, "my-data")).FullName;
        Assert.That(Run(recording, ["train", "--model", "dnn", "--data", folder, "--out", run, "--epochs", "1", .. Tiny()]).Code, Is.Zero);
        Assert.That(Run(recording, "train", "--out", run, "--resume", "--epochs", "2").Code, Is.Zero);
        Assert.That(Run(recording, "eval", "--checkpoint", run).Code, Is.Zero);
        Assert.That(Run(recording, "predict", "--checkpoint", run, "--out", Path.Combine(_dir, "p.csv")).Code, Is.Zero);
        // An explicit --data still wins; a run without a recorded source (older checkpoints) falls back to synthetic.
        Assert.That(Run(recording, "eval", "--checkpoint", run, "--data", "synthetic").Code, Is.Zero);
        Assert.That(requested, Is.EqualTo(new[] { folder, folder, folder, folder, "synthetic" }));

        var other = Path.Combine(_dir, "other");
        Assert.That(Run(recording, ["train", "--model", "dnn", "--out", other, "--epochs", "1", .. Tiny()]).Code, Is.Zero);
        Assert.That(Run(recording, "eval", "--checkpoint", other).Code, Is.Zero);
        Assert.That(requested[^2..], Is.EqualTo(new[] { "synthetic", "synthetic" }));
    }

    [Test]
    public void ValidationDaysSelectOnHeldOutDatesAndWriteBothMetrics()
    {
        var threeDays = new TrainingServices
        {
            LoadData = _ => new LoadedData(FakeBatchSource.DefaultSchema, new FakeBatchSource(600, 1, days: 3), new FakeBatchSource(200, 2)),
            BuildModel = FakeModel.Builder,
        };
        var run = Path.Combine(_dir, "runs", "valid");
        var result = Run(threeDays, ["train", "--model", "dnn", "--out", run, "--epochs", "1", "--kernels", "reference",
            "--set", "train.validation_days=1", .. Tiny()]);
        Assert.That(result.Code, Is.Zero, result.Error);
        foreach (var f in new[] { "metrics.json", "validation_metrics.json", "checkpoints/best" })
            Assert.That(File.Exists(Path.Combine(run, f)), Is.True, f);
        Assert.That(File.ReadAllText(Path.Combine(run, "history.json")), Does.Contain("\"evaluated_on\": \"validation\""));
        var evalOut = Path.Combine(_dir, "eval-valid");
        result = Run(threeDays, "eval", "--checkpoint", run, "--split", "validation", "--out", evalOut);
        Assert.That(result.Code, Is.Zero, result.Error);
        var selected = DynRec.Metrics.MetricsReport.ReadJson(File.ReadAllText(Path.Combine(run, "validation_metrics.json")));
        var again = DynRec.Metrics.MetricsReport.ReadJson(File.ReadAllText(Path.Combine(evalOut, "metrics.json")));
        Assert.That(again["auc_macro"], Is.EqualTo(selected["auc_macro"]).Within(1e-12), "eval --split validation = the selecting metrics");
        var csv = Path.Combine(_dir, "valid.csv");
        Assert.That(Run(threeDays, "predict", "--checkpoint", run, "--split", "validation", "--out", csv).Code, Is.Zero);
        Assert.That(File.ReadAllLines(csv), Has.Length.EqualTo(201), "the 200 rows of the last training date");
        Assert.That(Run(threeDays, "predict", "--checkpoint", run, "--split", "train", "--out", csv).Code, Is.Zero);
        Assert.That(File.ReadAllLines(csv), Has.Length.EqualTo(401), "the 400 fitted rows");
        AssertUserError(Run("eval", "--checkpoint", run, "--split", "validation"), "would leave no training dates");
        AssertUserError(Run(threeDays, ["train", "--model", "dnn", "--out", Path.Combine(_dir, "runs", "v3"), "--epochs", "1",
            "--set", "train.validation_days=3", .. Tiny()]), "train.validation_days: 3 would leave no training dates");
    }

    [Test]
    public void CheckpointOfOtherDataIsRefused()
    {
        var run = Path.Combine(_dir, "run");
        Assert.That(Run(["train", "--model", "dnn", "--out", run, "--epochs", "1", .. Tiny()]).Code, Is.Zero);
        var otherSchema = new DynRec.Data.FeatureSchema(
            [.. FakeBatchSource.DefaultSchema.SparseFields.Take(2), new("tab", 3, DynRec.Data.FieldGroup.Scenario)], null, ["is_click"], "tab", 3);
        var other = new TrainingServices
        {
            LoadData = _ => new LoadedData(otherSchema, new FakeBatchSource(10, 1, otherSchema), new FakeBatchSource(10, 2, otherSchema)),
            BuildModel = FakeModel.Builder,
        };
        AssertUserError(Run(other, "eval", "--checkpoint", run), "was trained on other data: tasks differ");
    }

    private static readonly TrainingServices RealData = RealDataServices.Uncached;

    [Test]
    public void CheckpointsCarryTheEncodingSoOtherDataCanBeScored()
    {
        var trainData = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "kuairand_small");
        var run = Path.Combine(_dir, "run");
        var result = Run(RealData, ["train", "--model", "dnn", "--data", trainData, "--out", run, "--epochs", "1", .. Tiny()]);
        Assert.That(result.Code, Is.Zero, result.Error);
        var checkpoint = DynRec.Training.Checkpointing.CheckpointStore.Resolve(run);
        var saved = DynRec.Data.FeatureEncoding.Read(Path.Combine(checkpoint, DynRec.Data.FeatureEncoding.FileName));
        Assert.That(saved.CategoriesOf("user_id"), Is.EqualTo(new[] { "10", "20", "30" }));

        // Later data: user 50 is new, so learning its own vocabularies would change the schema.
        var later = Path.Combine(_dir, "later");
        Directory.CreateDirectory(later);
        foreach (var f in Directory.GetFiles(trainData).Where(f => !Path.GetFileName(f).StartsWith("log_", StringComparison.Ordinal)))
            File.Copy(f, Path.Combine(later, Path.GetFileName(f)));
        var header = File.ReadLines(Path.Combine(trainData, "log_standard_4_10_to_4_10_pure.csv")).First();
        File.WriteAllLines(Path.Combine(later, "log_standard_4_11_to_4_12_pure.csv"), new[]
        {
            header, "50,400,20220411,1200,1649678400000,1,0,0,0,0,0,0,800,10000,0,0,0,0,0",
            "10,100,20220411,1300,1649682000000,0,0,0,0,0,0,0,800,10000,0,0,0,0,1",
            "50,300,20220412,900,1649754000000,1,0,0,0,0,0,1,800,10000,0,0,0,0,2",
        });
        var csv = Path.Combine(_dir, "later.csv");
        result = Run(RealData, "predict", "--checkpoint", run, "--data", later, "--out", csv);
        Assert.That(result.Code, Is.Zero, result.Error);
        var lines = File.ReadAllLines(csv);
        Assert.That(lines, Has.Length.EqualTo(2));
        Assert.That(lines[1], Does.StartWith("0,50,300,1649754000000,20220412,2,"));
        result = Run(RealData, "eval", "--checkpoint", run, "--data", later, "--split", "train");
        Assert.That(result.Code, Is.Zero, result.Error);

        // The same through the library API a .NET app uses.
        using (var trained = DynRec.Training.Checkpointing.TrainedModel.Load(run))
        {
            var split = DynRec.Data.DataSource.Load(later, trained.DataOptions(new DynRec.Data.LoadOptions { UseCache = false }));
            trained.CheckData(split.Schema);
            var p = DynRec.Training.Evaluator.Predict(trained.Model, split.Test, 64, CPU);
            Assert.That(p.Probabilities[0][0].ToString("R", System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(lines[1].Split(',')[6]));
            var refit = DynRec.Data.DataSource.Load(later, new DynRec.Data.LoadOptions { UseCache = false });
            Assert.That(() => trained.CheckData(refit.Schema), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("was trained on other data"));
        }

        // Resuming keeps the run's encoding (here: on the later data, whose own vocabularies would differ).
        result = Run(RealData, "train", "--out", run, "--resume", "--epochs", "2", "--data", later);
        Assert.That(result.Code, Is.Zero, result.Error);
        var resumed = DynRec.Training.Checkpointing.CheckpointStore.Resolve(Path.Combine(run, "checkpoints", "last"));
        Assert.That(Path.GetFileName(resumed), Is.EqualTo("epoch-0002"));
        Assert.That(File.ReadAllText(Path.Combine(resumed, DynRec.Data.FeatureEncoding.FileName)), Is.EqualTo(saved.ToJson()));
        checkpoint = DynRec.Training.Checkpointing.CheckpointStore.Resolve(run);  // what --checkpoint run reads now

        // A checkpoint without its encoding (written before encodings were saved) can only read its own data.
        File.Delete(Path.Combine(checkpoint, DynRec.Data.FeatureEncoding.FileName));
        AssertUserError(Run(RealData, "predict", "--checkpoint", run, "--data", later, "--out", csv), "was trained on other data");
        File.WriteAllText(Path.Combine(checkpoint, DynRec.Data.FeatureEncoding.FileName), "{\"format\": 1}");
        AssertUserError(Run(RealData, "predict", "--checkpoint", run, "--data", later, "--out", csv), "encoding.json: not a feature encoding");
    }

    [Test]
    public void AnImpressionLogIsScoredButNotEvaluatedOrTrainedOn()
    {
        var trainData = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "kuairand_small");
        var run = Path.Combine(_dir, "run");
        Assert.That(Run(RealData, ["train", "--model", "dnn", "--data", trainData, "--out", run, "--epochs", "1", .. Tiny()]).Code, Is.Zero);

        // The same folder with its last day as an impression log: no feedback columns, only what the features use.
        var toScore = Path.Combine(_dir, "to-score");
        Directory.CreateDirectory(toScore);
        foreach (var f in Directory.GetFiles(trainData)) File.Copy(f, Path.Combine(toScore, Path.GetFileName(f)));
        File.WriteAllLines(Path.Combine(toScore, "log_standard_4_10_to_4_10_pure.csv"), new[]
        {
            "user_id,video_id,date,hourmin,time_ms,is_rand,tab",
            "10,400,20220410,2300,1649602800000,0,0",
            "40,200,20220410,1415,1649571300000,0,1",
        });
        var csv = Path.Combine(_dir, "scores.csv");
        var result = Run(RealData, "predict", "--checkpoint", run, "--data", toScore, "--out", csv);
        Assert.That(result.Code, Is.Zero, result.Error);
        var lines = File.ReadAllLines(csv);
        Assert.That(lines[0], Is.EqualTo("row_id,user_id,video_id,time_ms,date,tab,is_click,long_view,is_like"));
        Assert.That(lines[1..].Select(l => string.Join(',', l.Split(',')[1..6])),
            Is.EqualTo(new[] { "10,400,1649602800000,20220410,0", "40,200,1649571300000,20220410,1" }));

        AssertUserError(Run(RealData, "eval", "--checkpoint", run, "--data", toScore), "the test rows of " + toScore + " have no labels");
        AssertUserError(Run(RealData, ["train", "--model", "dnn", "--data", toScore, "--out", Path.Combine(_dir, "run2"), "--epochs", "1", .. Tiny()]),
            "training needs labeled train and test rows");
    }

    [Test]
    public void BenchComparesBothKernelPaths()
    {
        var result = Run("bench", "--model", "dnn", "--steps", "3", "--warmup", "1", "--batch-size", "32", "--set", "model.emb_dim=4");
        Assert.That(result.Code, Is.Zero, result.Error);
        AssertUserError(Run("bench", "--model", "dnn", "--steps", "0"), "--steps must be >= 1");
        var alternating = Run("bench", "--model", "dnn", "--steps", "2", "--warmup", "0", "--rounds", "3", "--batch-size", "32", "--set", "model.emb_dim=4");
        Assert.That(alternating.Code, Is.Zero, alternating.Error);
        AssertUserError(Run("bench", "--model", "dnn", "--rounds", "0"), "--rounds must be >= 1");
        AssertUserError(Run("bench", "--model", "dnn", "--threads", "-1"), "--threads must be >= 0");
    }

    [TestCase("native")]
    [TestCase("reference")]
    public void BenchTimesOnePathAlone(string kernels)
    {
        // The table goes through Spectre's console and the ratio through Console.Out: capture both.
        var output = new StringWriter();
        var (savedOut, savedAnsi) = (Console.Out, AnsiConsole.Console);
        Console.SetOut(output);
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No });
        try
        {
            var result = Run("bench", "--model", "dnn", "--steps", "2", "--warmup", "0", "--batch-size", "16", "--kernels", kernels,
                "--set", "model.emb_dim=4");
            Assert.That(result.Code, Is.Zero, result.Error);
        }
        finally
        {
            Console.SetOut(savedOut);
            AnsiConsole.Console = savedAnsi;
        }
        var other = kernels == "native" ? "reference" : "native";
        Assert.That(output.ToString(), Does.Contain($" {kernels} "));
        Assert.That(output.ToString(), Does.Not.Contain($" {other} "));
        Assert.That(output.ToString(), Does.Not.Contain("native / reference"));
        AssertUserError(Run("bench", "--model", "dnn", "--kernels", "fast"), "--kernels: unknown kernels 'fast'; valid: both, native, reference");
    }

    [Test]
    public void BenchPhasesBreakEachPathsStepDown()
    {
        var output = new StringWriter();
        var (savedOut, savedAnsi) = (Console.Out, AnsiConsole.Console);
        Console.SetOut(output);
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No });
        try
        {
            var result = Run("bench", "--model", "dnn", "--steps", "3", "--warmup", "1", "--batch-size", "16", "--phases",
                "--set", "model.emb_dim=4");
            Assert.That(result.Code, Is.Zero, result.Error);
        }
        finally
        {
            Console.SetOut(savedOut);
            AnsiConsole.Console = savedAnsi;
        }
        // By default the paths alternate over two rounds (A B B A), so a steady drift hits both.
        Assert.That(output.ToString(), Does.Contain("2 round(s) of 3 steps per path"));
        var lines = output.ToString().Split('\n').Where(l => l.Contains(" forward ")).ToArray();
        Assert.That(lines, Has.Length.EqualTo(2), output.ToString());
        foreach (var line in lines)
        {
            // forward F (issue I)  loss L  backward B (issue J)  optimizer O (issue K)  sum S, with S = F + L + B + O and issue <= wall.
            var numbers = System.Text.RegularExpressions.Regex.Matches(line, @"\d+\.\d+").Select(m => double.Parse(m.Value, CultureInfo.InvariantCulture)).ToArray();
            Assert.That(numbers, Has.Length.EqualTo(8), line);
            var (fwd, fwdIssue, loss, bwd, bwdIssue, opt, optIssue, sum) =
                (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4], numbers[5], numbers[6], numbers[7]);
            Assert.That(sum, Is.EqualTo(fwd + loss + bwd + opt).Within(0.002), line);
            Assert.That(fwd, Is.GreaterThan(0));
            Assert.That(bwd, Is.GreaterThan(0));
            Assert.That(fwdIssue, Is.LessThanOrEqualTo(fwd));
            Assert.That(bwdIssue, Is.LessThanOrEqualTo(bwd));
            Assert.That(optIssue, Is.LessThanOrEqualTo(opt));
        }
    }
}
