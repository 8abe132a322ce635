using DynRec.Config;
using DynRec.Metrics;
using DynRec.Ops;
using DynRec.Training;
using DynRec.Training.Checkpointing;
using static TorchSharp.torch;

namespace DynRec.Tests.Training;

/// <summary>train.validation_days: the split itself, and training that selects on it and tests once.</summary>
public class ValidationSplitTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("dynrec-valid-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    // 4 dates (2022-04-07..10), 300 rows each.
    private static readonly FakeBatchSource FourDays = new(1200, seed: 1, days: 4);
    private static readonly FakeBatchSource TestSplit = new(400, seed: 2);

    private static RunConfig Config(params string[] extra) => RunConfig.Load("dnn", null,
        ["train.batch_size=64", "model.emb_dim=4", "model.dropout=0.0", "train.early_stopping.patience=0", "train.lr=0.01", .. extra]);

    [Test]
    public void HoldsOutTheLastDatesKeepingRowOrder()
    {
        var split = ValidationSplit.ByLastDates(FourDays, 2);
        Assert.That(split.ValidationDates, Is.EqualTo(new[] { 20220409, 20220410 }));
        Assert.That(split.Fit.Rows + split.Validation.Rows, Is.EqualTo(FourDays.Rows));
        Assert.That(split.Validation.Rows, Is.EqualTo(600));
        for (var r = 0; r < split.Fit.Rows; r++) Assert.That(split.Fit.KeyOf(r).Date, Is.LessThan(20220409));
        for (var r = 0; r < split.Validation.Rows; r++)
        {
            Assert.That(split.Validation.KeyOf(r).Date, Is.GreaterThanOrEqualTo(20220409));
            Assert.That(split.Validation.KeyOf(r), Is.EqualTo(FourDays.KeyOf(600 + r)), "row order kept");
        }
    }

    [Test]
    public void SubsetBatchesAndOracleAreTheSourceRows()
    {
        var subset = new RowSubset(FourDays, [7, 3, 1199, 3]);
        Assert.That(subset.Rows, Is.EqualTo(4));
        Assert.That(subset.Oracle![1], Is.EqualTo(new[] { FourDays.Oracle![1][7], FourDays.Oracle[1][3], FourDays.Oracle[1][1199], FourDays.Oracle[1][3] }));
        using var got = subset.GetBatch([2, 0]);
        using var want = FourDays.GetBatch([1199, 7]);
        Assert.That(got.Sparse.data<long>().ToArray(), Is.EqualTo(want.Sparse.data<long>().ToArray()));
        Assert.That(got.Labels.data<float>().ToArray(), Is.EqualTo(want.Labels.data<float>().ToArray()));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new RowSubset(FourDays, [0, 1200]));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new RowSubset(FourDays, [-1]));
    }

    [Test]
    public void TooManyValidationDaysIsAConfigError()
    {
        var e = Assert.Throws<ConfigException>(() => ValidationSplit.ByLastDates(FourDays, 4))!;
        Assert.That(e.Message, Does.Contain("train.validation_days").And.Contain("4 date(s) (20220407..20220410)"));
        Assert.Throws<ArgumentOutOfRangeException>(() => ValidationSplit.ByLastDates(FourDays, 0));
        Assert.Throws<ConfigException>(() => Config("train.validation_days=-1"));
        Assert.That(RunConfig.FromYaml(Config("train.validation_days=3").ToYaml(), "saved").Train.ValidationDays, Is.EqualTo(3));
        Assert.That(Config().Train.ValidationDays, Is.EqualTo(0), "FunRec's recipe by default");
    }

    private (TrainingResult Result, TorchSharp.torch.nn.Module Model) Train(string outDir, RunConfig config, bool resume = false,
        IBatchSource? test = null)
    {
        random.manual_seed(config.Train.Seed);
        var model = FakeModel.Builder(config.ModelName, FourDays.Schema, config.Model, Kernels.Reference);
        using var optimizer = Trainer.CreateOptimizer(model, config.Train);
        var store = new CheckpointStore(Path.Combine(outDir, "checkpoints"));
        using var checkpoint = resume ? CheckpointStore.Load(store.FindLast()!) : null;
        var result = new Trainer(model, config, optimizer, CPU).Fit(FourDays, test ?? TestSplit, store, checkpoint);
        return (result, model);
    }

    private static Dictionary<string, double> Evaluate(DynRec.Models.MultiTaskModel model, IBatchSource split)
    {
        var report = MetricsReport.Compute(Evaluator.Predict(model, split, 512, CPU), split.Schema.ScenarioField, split.Schema.ScenarioCount);
        return report.Values.ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    [Test]
    public void SelectsOnValidationAndScoresTheTestSplitOnceWithTheBestWeights()
    {
        // A learning rate at which the validation AUC peaks at epoch 2 of 3, so the best weights are not the last.
        var config = Config("train.epochs=3", "train.validation_days=1", "train.lr=0.2");
        var (result, module) = Train(_dir, config);
        using var model = (DynRec.Models.MultiTaskModel)module;
        Assert.That(result.BestEpoch, Is.EqualTo(2));
        Assert.That(result.SelectedOn, Is.EqualTo("validation"));
        Assert.That(result.History.Select(h => h.EvaluatedOn), Is.All.EqualTo("validation"));
        // 900 fitted rows (3 of the 4 dates) in batches of 64: 15 steps an epoch.
        Assert.That(result.History.Select(h => h.Step), Is.EqualTo(new long[] { 15, 30, 45 }));
        // The model now holds the best checkpoint's weights: its validation metrics are the best epoch's,
        // its test metrics are the ones reported.
        var validation = ValidationSplit.ByLastDates(FourDays, 1).Validation;
        Assert.That(Evaluate(model, validation)["auc_macro"], Is.EqualTo(result.BestMetrics!["auc_macro"]).Within(1e-12));
        var test = Evaluate(model, TestSplit);
        Assert.That(result.TestMetrics!["auc_macro"], Is.EqualTo(test["auc_macro"]).Within(1e-12));
        Assert.That(result.TestMetrics["logloss_is_click"], Is.Not.EqualTo(result.BestMetrics["logloss_is_click"]), "scored on another split");
        Assert.That(result.TestMetrics.ContainsKey("lift_share_is_click"), Is.True, "the test split's oracle is used");

        var runsCsv = Path.Combine(_dir, "runs.csv");
        RunOutputs.WriteResults(_dir, config, result, FourDays.Schema, "fake", runsCsv);
        var metrics = MetricsReport.ReadJson(File.ReadAllText(Path.Combine(_dir, RunOutputs.MetricsFile)));
        var selected = MetricsReport.ReadJson(File.ReadAllText(Path.Combine(_dir, RunOutputs.ValidationMetricsFile)));
        Assert.That(metrics["auc_macro"], Is.EqualTo(result.TestMetrics["auc_macro"]));
        Assert.That(selected["auc_macro"], Is.EqualTo(result.BestMetrics["auc_macro"]));
        Assert.That(File.ReadAllLines(runsCsv)[1], Does.Contain(",validation,test,"));
        var info = CheckpointStore.Load(CheckpointStore.Resolve(_dir));
        using (info) Assert.That(info.Info.ValidationDays, Is.EqualTo(1));
    }

    [Test]
    public void ResumesOnlyWithTheSameValidationDays()
    {
        var straight = Train(Path.Combine(_dir, "straight"), Config("train.epochs=2", "train.validation_days=2"));
        var split = Path.Combine(_dir, "split");
        Train(split, Config("train.epochs=1", "train.validation_days=2")).Model.Dispose();
        var resumed = Train(split, Config("train.epochs=2", "train.validation_days=2"), resume: true);
        Assert.That(resumed.Result.History[1].TestLoss, Is.EqualTo(straight.Result.History[1].TestLoss), "resumed = uninterrupted");
        Assert.That(resumed.Result.TestMetrics!["auc_macro"], Is.EqualTo(straight.Result.TestMetrics!["auc_macro"]));
        straight.Model.Dispose();
        resumed.Model.Dispose();
        var e = Assert.Throws<InvalidDataException>(() => Train(split, Config("train.epochs=3", "train.validation_days=1"), resume: true))!;
        Assert.That(e.Message, Does.Contain("held out 2 validation day(s)").And.Contain("this config 1"));
    }

    [Test]
    public void AnUnlabeledTestSplitLeavesNoTestMetrics()
    {
        var (result, model) = Train(_dir, Config("train.epochs=1", "train.validation_days=1"), test: new UnlabeledFake(50));
        model.Dispose();
        Assert.That(result.BestMetrics, Is.Not.Null);
        Assert.That(result.TestMetrics, Is.Null);
    }

    private sealed class UnlabeledFake(int rows) : IBatchSource
    {
        private readonly FakeBatchSource _inner = new(rows, seed: 5);
        public DynRec.Data.FeatureSchema Schema => _inner.Schema;
        public int Rows => rows;
        public float[][]? Oracle => null;
        public bool HasLabels => false;
        public DynRec.Data.RowKey KeyOf(int row) => _inner.KeyOf(row);
        public DynRec.Data.Batch GetBatch(ReadOnlySpan<int> r, Device? device = null) => _inner.GetBatch(r, device);
    }
}
