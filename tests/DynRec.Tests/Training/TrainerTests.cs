using DynRec.Config;
using DynRec.Ops;
using DynRec.Training;
using DynRec.Training.Checkpointing;
using static TorchSharp.torch;

namespace DynRec.Tests.Training;

public class TrainerTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("dynrec-train-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private static readonly FakeBatchSource TrainSplit = new(1200, seed: 1);
    private static readonly FakeBatchSource TestSplit = new(400, seed: 2);

    private static RunConfig Config(params string[] extra) => RunConfig.Load("dnn", null,
        ["train.batch_size=64", "model.emb_dim=4", "model.dropout=0.3", "train.early_stopping.patience=0", "train.lr=0.01", .. extra]);

    /// <summary>Builds a fresh model (weights from <paramref name="initSeed"/>) and trains it, optionally resuming from the run's last checkpoint.</summary>
    private static (TrainingResult Result, Dictionary<string, Tensor> Weights) Train(string outDir, RunConfig config, bool resume = false,
        long? initSeed = null, ModelBuilder? builder = null, ITrainingProgress? progress = null, CancellationToken stop = default)
    {
        random.manual_seed(initSeed ?? config.Train.Seed);
        using var model = (builder ?? FakeModel.Builder)(config.ModelName, TrainSplit.Schema, config.Model, Kernels.Reference);
        using var optimizer = Trainer.CreateOptimizer(model, config.Train);
        var store = new CheckpointStore(Path.Combine(outDir, "checkpoints"));
        using var checkpoint = resume ? CheckpointStore.Load(store.FindLast()!) : null;
        var result = new Trainer(model, config, optimizer, CPU, progress).Fit(TrainSplit, TestSplit, store, checkpoint, stop);
        var weights = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        return (result, weights);
    }

    private static readonly ModelBuilder RealModels = (name, schema, options, kernels) => DynRec.Models.ModelFactory.Create(name, schema, options, kernels);

    private static IEnumerable<TestCaseData> ResumeCases()
    {
        yield return new TestCaseData("adam", "dense", false).SetArgDisplayNames("adam, fake model");
        yield return new TestCaseData("fused_adam", "dense", false).SetArgDisplayNames("fused_adam, fake model");
        yield return new TestCaseData("fused_adamw", "dense", true).SetArgDisplayNames("fused_adamw, dnn dense");
        yield return new TestCaseData("fused_adam", "lazy_adam", true).SetArgDisplayNames("fused_adam, dnn lazy_adam TBE");
        yield return new TestCaseData("adam", "rowwise_adagrad", true).SetArgDisplayNames("adam, dnn rowwise_adagrad TBE");
    }

    [TestCaseSource(nameof(ResumeCases))]
    public void OneEpochPlusResumePlusOneEqualsTwoEpochsExactly(string optimizer, string embeddings, bool realModel)
    {
        string[] settings = [$"train.optimizer={optimizer}", $"model.embedding_optimizer={embeddings}", "model.embedding_lr=0.01",
            "model.dnn_units=[16]", "train.max_grad_norm=5.0"];
        var builder = realModel ? RealModels : null;
        var straight = Train(Path.Combine(_dir, "straight"), Config(["train.epochs=2", .. settings]), builder: builder);
        var split = Path.Combine(_dir, "split");
        Train(split, Config(["train.epochs=1", .. settings]), builder: builder);
        // A different init seed proves the resumed weights come from the checkpoint.
        var resumed = Train(split, Config(["train.epochs=2", .. settings]), resume: true, initSeed: 777, builder: builder);

        Assert.That(resumed.Result.History, Has.Count.EqualTo(2));
        for (var e = 0; e < 2; e++)
        {
            var a = straight.Result.History[e];
            var b = resumed.Result.History[e];
            Assert.That(b.TrainLoss, Is.EqualTo(a.TrainLoss), $"train loss, epoch {e + 1}");
            Assert.That(b.TestLoss, Is.EqualTo(a.TestLoss), $"test loss, epoch {e + 1}");
            Assert.That(b.Step, Is.EqualTo(a.Step));
            Assert.That(b.Metrics!.Keys, Is.EqualTo(a.Metrics!.Keys));
            foreach (var key in a.Metrics.Keys)
                Assert.That(b.Metrics[key], Is.EqualTo(a.Metrics[key]), $"{key}, epoch {e + 1}");
        }
        foreach (var (name, w) in straight.Weights)
            Assert.That(resumed.Weights[name].eq(w).all().item<bool>(), Is.True, name);
        // The run learned something: better than chance on the planted signal.
        Assert.That(straight.Result.History[^1].Metrics!["auc_is_click"], Is.GreaterThan(0.6));
        Assert.That(straight.Result.History[^1].Metrics!.ContainsKey("lift_share_is_click"), Is.True);
    }

    /// <summary>Throws from the progress callback once the run reaches a given step: a crash between two steps.</summary>
    private sealed class CrashAtStep(long crashAtRunStep) : ITrainingProgress
    {
        private long _runSteps;
        public void EpochStarted(int epoch, int epochs, long steps, long rows) { }
        public void StepCompleted(long step, long rowsDone, Func<double> meanLoss)
        {
            if (++_runSteps == crashAtRunStep) throw new InvalidOperationException("simulated crash");
        }
        public void EpochCompleted(EpochRecord record) { }
        public void Message(string line) { }
    }

    private static IEnumerable<TestCaseData> MidEpochCases()
    {
        yield return new TestCaseData("adam", "dense", false).SetArgDisplayNames("adam, fake model");
        yield return new TestCaseData("fused_adam", "lazy_adam", true).SetArgDisplayNames("fused_adam, dnn lazy_adam TBE");
    }

    [TestCaseSource(nameof(MidEpochCases))]
    public void ACrashMidEpochResumesFromTheMidEpochCheckpointExactly(string optimizer, string embeddings, bool realModel)
    {
        // 1200 rows / 64 = 19 steps per epoch; checkpoints every 7 run steps: 7, 14 | 21, 28, 35 (epoch 2 = steps 20..38).
        string[] settings = ["train.epochs=2", "train.checkpoint_every_steps=7", $"train.optimizer={optimizer}",
            $"model.embedding_optimizer={embeddings}", "model.embedding_lr=0.01", "model.dnn_units=[16]"];
        var builder = realModel ? RealModels : null;
        var straight = Train(Path.Combine(_dir, "straight"), Config(settings), builder: builder);

        var crashed = Path.Combine(_dir, "crashed");
        Assert.Throws<InvalidOperationException>(() => Train(crashed, Config(settings), builder: builder, progress: new CrashAtStep(26)));
        var last = new CheckpointStore(Path.Combine(crashed, "checkpoints")).FindLast()!;
        Assert.That(Path.GetFileName(last), Is.EqualTo("epoch-0002-step-000000021"));
        using (var partial = CheckpointStore.Load(last))
        {
            Assert.That(partial.Info.Epoch, Is.EqualTo(1));
            Assert.That(partial.Info.InProgress, Is.EqualTo(partial.Info.InProgress! with { Epoch = 2, RowsDone = 2 * 64, LossRows = 2 * 64 }));
            Assert.That(partial.Info.History, Has.Count.EqualTo(1));
        }
        var resumed = Train(crashed, Config(settings), resume: true, initSeed: 777, builder: builder);

        Assert.That(resumed.Result.History, Has.Count.EqualTo(2));
        for (var e = 0; e < 2; e++)
        {
            var a = straight.Result.History[e];
            var b = resumed.Result.History[e];
            Assert.That(b.TrainLoss, Is.EqualTo(a.TrainLoss), $"train loss, epoch {e + 1}");
            Assert.That(b.Step, Is.EqualTo(a.Step));
            foreach (var key in a.Metrics!.Keys)
                Assert.That(b.Metrics![key], Is.EqualTo(a.Metrics[key]), $"{key}, epoch {e + 1}");
        }
        foreach (var (name, w) in straight.Weights)
            Assert.That(resumed.Weights[name].eq(w).all().item<bool>(), Is.True, name);
        // The finished run keeps only epoch checkpoints: the mid-epoch ones were pruned as `last` moved on.
        var kept = Directory.GetDirectories(Path.Combine(crashed, "checkpoints")).Select(Path.GetFileName);
        Assert.That(kept, Is.All.Matches<string>(n => !n.Contains("-step-")));
    }

    /// <summary>Signals the stop token once the run reaches a given step, as the CLI does on Ctrl-C or SIGTERM.</summary>
    private sealed class StopAtStep(long stopAtRunStep, CancellationTokenSource stop) : ITrainingProgress
    {
        private long _runSteps;
        public void EpochStarted(int epoch, int epochs, long steps, long rows) { }
        public void StepCompleted(long step, long rowsDone, Func<double> meanLoss)
        {
            if (++_runSteps == stopAtRunStep) stop.Cancel();
        }
        public void EpochCompleted(EpochRecord record) { }
        public void Message(string line) { }
    }

    private static IEnumerable<TestCaseData> StopCases()
    {
        // 1200 rows / 64 = 19 steps an epoch; run step 26 is epoch 2's 7th.
        yield return new TestCaseData(26L, new[] { "model.dropout=0.0" }, "epoch-0002-step-000000026", 2, 7 * 64L)
            .SetArgDisplayNames("inside an epoch, dropout off");
        // On a checkpoint_every_steps step the periodic checkpoint is the stop's (written once), and dropout
        // restarts there in both runs, so the resumed run is exact with dropout on.
        yield return new TestCaseData(26L, new[] { "train.checkpoint_every_steps=13" }, "epoch-0002-step-000000026", 2, 7 * 64L)
            .SetArgDisplayNames("on a periodic checkpoint, dropout on");
        // On an epoch's last step the epoch ends (evaluation, its checkpoint) and the run stops before the next.
        yield return new TestCaseData(19L, Array.Empty<string>(), "epoch-0001", 2, 0L).SetArgDisplayNames("at an epoch's end");
    }

    [TestCaseSource(nameof(StopCases))]
    public void AStopSavesACheckpointThatResumesExactly(long stopAt, string[] extra, string checkpoint, int epoch, long rowsDone)
    {
        string[] settings = ["train.epochs=2", .. extra];
        var straight = Train(Path.Combine(_dir, "straight"), Config(settings));

        var stopped = Path.Combine(_dir, "stopped");
        using var stop = new CancellationTokenSource();
        var e = Assert.Throws<TrainingInterruptedException>(() =>
            Train(stopped, Config(settings), progress: new StopAtStep(stopAt, stop), stop: stop.Token))!;
        Assert.That((e.Epoch, e.RowsDone, e.Step), Is.EqualTo((epoch, rowsDone, stopAt)));
        Assert.That(Path.GetFileName(e.Checkpoint), Is.EqualTo(checkpoint));
        var store = new CheckpointStore(Path.Combine(stopped, "checkpoints"));
        Assert.That(store.FindLast(), Is.EqualTo(e.Checkpoint));
        Assert.That(Directory.GetDirectories(store.Directory).Select(Path.GetFileName), Has.One.EqualTo(checkpoint));
        var resumed = Train(stopped, Config(settings), resume: true, initSeed: 777);

        Assert.That(resumed.Result.History, Has.Count.EqualTo(2));
        for (var i = 0; i < 2; i++)
        {
            Assert.That(resumed.Result.History[i].TrainLoss, Is.EqualTo(straight.Result.History[i].TrainLoss), $"train loss, epoch {i + 1}");
            Assert.That(resumed.Result.History[i].Metrics, Is.EqualTo(straight.Result.History[i].Metrics), $"metrics, epoch {i + 1}");
        }
        foreach (var (name, w) in straight.Weights)
            Assert.That(resumed.Weights[name].eq(w).all().item<bool>(), Is.True, name);
    }

    [Test]
    public void AStopBeforeTheFirstStepWritesNothing()
    {
        using var stop = new CancellationTokenSource();
        stop.Cancel();
        var dir = Path.Combine(_dir, "never");
        var e = Assert.Throws<TrainingInterruptedException>(() => Train(dir, Config("train.epochs=2"), stop: stop.Token))!;
        Assert.That((e.Epoch, e.Step, e.Checkpoint), Is.EqualTo((1, 0L, (string?)null)));
        Assert.That(e.Message, Does.Contain("no checkpoint"));
        Assert.That(new CheckpointStore(Path.Combine(dir, "checkpoints")).FindLast(), Is.Null);
    }

    [Test]
    public void AStopWhileResumingMidEpochTrainsOneStepAndSavesAgain()
    {
        var dir = Path.Combine(_dir, "twice");
        using (var first = new CancellationTokenSource())
            Assert.Throws<TrainingInterruptedException>(() =>
                Train(dir, Config("train.epochs=2"), progress: new StopAtStep(5, first), stop: first.Token));
        using var again = new CancellationTokenSource();
        again.Cancel();
        var e = Assert.Throws<TrainingInterruptedException>(() => Train(dir, Config("train.epochs=2"), resume: true, stop: again.Token))!;
        Assert.That((e.Epoch, e.RowsDone, e.Step), Is.EqualTo((1, 6 * 64L, 6L)));
        Assert.That(Path.GetFileName(e.Checkpoint), Is.EqualTo("epoch-0001-step-000000006"));
    }

    [Test]
    public void MidEpochCheckpointsAreWrittenOnlyWhenAsked()
    {
        var dir = Path.Combine(_dir, "plain");
        Assert.Throws<InvalidOperationException>(() => Train(dir, Config("train.epochs=2"), progress: new CrashAtStep(26)));
        Assert.That(Path.GetFileName(new CheckpointStore(Path.Combine(dir, "checkpoints")).FindLast()), Is.EqualTo("epoch-0001"));
    }

    [Test]
    public void ADifferentShuffleSeedGivesADifferentLoss()
    {
        // Guards the exactness test against passing vacuously: the same initial weights with another shuffle seed
        // give another loss, so the equality above is not an accident of the setup.
        var a = Train(Path.Combine(_dir, "a"), Config("train.epochs=1"));
        var b = Train(Path.Combine(_dir, "b"), Config("train.epochs=1", "train.seed=5"), initSeed: 2024);
        Assert.That(b.Result.History[0].TrainLoss, Is.Not.EqualTo(a.Result.History[0].TrainLoss));
    }

    [Test]
    public void EarlyStoppingKeepsTheBestCheckpoint()
    {
        // A vanishing learning rate: the metric stalls and patience runs out.
        var config = Config("train.epochs=6", "train.lr=1e-12", "train.early_stopping.patience=2", "train.early_stopping.metric=logloss_macro", "model.dropout=0.0");
        var (result, _) = Train(_dir, config);
        Assert.That(result.StoppedEarly || result.History.Count == 6, Is.True);
        var values = result.History.Select(h => h.Metrics!["logloss_macro"]).ToList();
        var bestIndex = values.IndexOf(values.Min());
        Assert.That(result.BestEpoch, Is.EqualTo(bestIndex + 1));
        if (result.StoppedEarly) Assert.That(result.History.Count, Is.EqualTo(result.BestEpoch + 2));
        var best = CheckpointStore.Resolve(_dir);
        Assert.That(Path.GetFileName(best), Is.EqualTo($"epoch-{result.BestEpoch:D4}"));
        using var checkpoint = CheckpointStore.Load(best);
        Assert.That(checkpoint.Info.Epoch, Is.EqualTo(result.BestEpoch));
        // Only `best` and `last` survive pruning.
        var kept = Directory.GetDirectories(Path.Combine(_dir, "checkpoints")).Select(Path.GetFileName).ToList();
        Assert.That(kept, Is.EquivalentTo(new[] { $"epoch-{result.BestEpoch:D4}", $"epoch-{result.History.Count:D4}" }.Distinct()));
    }

    [Test]
    public void StopsWhenTheMetricDoesNotImprove()
    {
        // The metric must strictly improve: with patience 1, the first epoch that does not improve ends the run.
        var config = Config("train.epochs=5", "train.eval_every=1", "train.early_stopping.patience=1");
        var (result, _) = Train(_dir, config);
        var values = result.History.Select(h => h.Metrics!["auc_macro"]).ToList();
        for (var e = 1; e < values.Count; e++)
        {
            var bestSoFar = values.Take(e).Max();
            if (values[e] <= bestSoFar)
            {
                Assert.That(result.StoppedEarly, Is.True);
                Assert.That(result.History, Has.Count.EqualTo(e + 1));
                return;
            }
        }
        Assert.That(result.StoppedEarly, Is.False);
    }

    [Test]
    public void WritesConfigMetricsHistoryPlotsAndRunsCsv()
    {
        var config = Config("train.epochs=2");
        var (result, _) = Train(_dir, config);
        RunOutputs.WriteConfig(_dir, config);
        var runsCsv = Path.Combine(_dir, "runs.csv");
        var files = RunOutputs.WriteResults(_dir, config, result, TrainSplit.Schema, "fake", runsCsv);
        foreach (var name in new[] { "config.yaml", "metrics.json", "history.json", "loss.png", "auc_is_click.png", "auc_long_view.png" })
            Assert.That(File.Exists(Path.Combine(_dir, name)), Is.True, name);
        Assert.That(files, Does.Contain(runsCsv));
        var png = File.ReadAllBytes(Path.Combine(_dir, "loss.png"));
        Assert.That(png[..4], Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }));
        var metrics = DynRec.Metrics.MetricsReport.ReadJson(File.ReadAllText(Path.Combine(_dir, "metrics.json")));
        Assert.That(metrics["auc_is_click"], Is.EqualTo(result.BestMetrics!["auc_is_click"]));
        Assert.That(RunConfig.FromYaml(File.ReadAllText(Path.Combine(_dir, "config.yaml")), "config.yaml").Train.Epochs, Is.EqualTo(2));
        var csv = File.ReadAllLines(runsCsv);
        Assert.That(csv, Has.Length.EqualTo(2));
        Assert.That(csv[0], Does.StartWith("finished_utc,run,model,data,seed,epochs_run,best_epoch,train_seconds,selected_on,metrics_split,auc_is_click,"));
        Assert.That(csv[1], Does.Contain(",test,test,"));
        Assert.That(File.Exists(Path.Combine(_dir, RunOutputs.ValidationMetricsFile)), Is.False);
    }

    [Test]
    public void TaskWeightsScaleTheLoss()
    {
        var (plain, _) = Train(Path.Combine(_dir, "a"), Config("train.epochs=1", "train.lr=1e-12", "model.dropout=0.0"));
        var (zeroed, _) = Train(Path.Combine(_dir, "b"), Config("train.epochs=1", "train.lr=1e-12", "model.dropout=0.0", "train.task_weights.long_view=0"));
        // With lr ~ 0 the model is its initialization; dropping a task's weight removes its BCE from the sum.
        Assert.That(zeroed.History[0].TrainLoss, Is.LessThan(plain.History[0].TrainLoss * 0.75));
        Assert.That(zeroed.History[0].TestLoss, Is.EqualTo(zeroed.History[0].Metrics!["logloss_is_click"]).Within(1e-12));
    }

    [Test]
    public void ResumeRefusesAnotherModelOrOtherData()
    {
        Train(_dir, Config("train.epochs=1"));
        using var checkpoint = CheckpointStore.Load(new CheckpointStore(Path.Combine(_dir, "checkpoints")).FindLast()!);
        var config = RunConfig.Load("mmoe", null, ["model.emb_dim=4"]);
        random.manual_seed(1);
        using var model = FakeModel.Builder("mmoe", TrainSplit.Schema, config.Model, Kernels.Reference);
        using var optimizer = Trainer.CreateOptimizer(model, config.Train);
        var e = Assert.Throws<InvalidDataException>(() =>
            new Trainer(model, config, optimizer, CPU).Fit(TrainSplit, TestSplit, new CheckpointStore(Path.Combine(_dir, "other")), checkpoint))!;
        Assert.That(e.Message, Does.Contain("'dnn'").And.Contain("'mmoe'"));

        var otherSchema = new DynRec.Data.FeatureSchema(
            [new("user_id", 41, DynRec.Data.FieldGroup.User | DynRec.Data.FieldGroup.Persona), new("video_id", 32, DynRec.Data.FieldGroup.Item | DynRec.Data.FieldGroup.Persona),
             new("tab", 3, DynRec.Data.FieldGroup.Scenario)],
            null, ["is_click", "long_view"], "tab", 3);
        var dnn = Config("train.epochs=2");
        using var model2 = FakeModel.Builder("dnn", otherSchema, dnn.Model, Kernels.Reference);
        using var optimizer2 = Trainer.CreateOptimizer(model2, dnn.Train);
        var other = new FakeBatchSource(100, 3, otherSchema);
        e = Assert.Throws<InvalidDataException>(() =>
            new Trainer(model2, dnn, optimizer2, CPU).Fit(other, other, new CheckpointStore(Path.Combine(_dir, "other2")), checkpoint))!;
        Assert.That(e.Message, Does.Contain("checkpoint video_id (vocabulary 31, groups Item, Persona), data video_id (vocabulary 32"));
    }
}
