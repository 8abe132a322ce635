using System.Diagnostics;
using DynRec.Config;
using DynRec.Metrics;
using DynRec.Models;
using DynRec.Training.Checkpointing;
using DynRec.Checkpoints;
using static TorchSharp.torch;

namespace DynRec.Training;

/// <summary>
/// Trains a multi-task model: per-task BCE on logits weighted by
/// train.task_weights, a seeded permutation of the training rows per epoch,
/// one dispose scope per step, evaluation on the test split (or, with
/// train.validation_days, a validation split of the last training dates) every
/// train.eval_every epochs (and after the last), early stopping on
/// train.early_stopping.metric with patience, and a checkpoint after every
/// epoch (`last`) with the best evaluated one kept (`best`); with
/// train.checkpoint_every_steps also every N steps inside an epoch.
/// Resuming from a checkpoint restores weights, optimizer moments and where
/// training stood (epoch, and row of the epoch for a mid-epoch one); shuffling
/// and dropout are seeded from (seed, epoch) and dropout is reseeded at every
/// mid-epoch checkpoint from (seed, epoch, row), so an interrupted and resumed
/// run equals an uninterrupted one exactly on the CPU. A signalled stop token
/// ends training between two steps with a resumable checkpoint (a mid-epoch one
/// inside an epoch) and a <see cref="TrainingInterruptedException"/>.
/// </summary>
public sealed class Trainer
{
    private readonly MultiTaskModel _model;
    private readonly RunConfig _config;
    private readonly ITrainingOptimizer _optimizer;
    private readonly Device _device;
    private readonly ITrainingProgress _progress;

    public Trainer(MultiTaskModel model, RunConfig config, ITrainingOptimizer optimizer, Device device, ITrainingProgress? progress = null)
    {
        _model = model;
        _config = config;
        _optimizer = optimizer;
        _device = device;
        _progress = progress ?? SilentProgress.Instance;
    }

    /// <summary>What the run trains on, recorded in its checkpoints ("synthetic" or a folder's full path) so a resume can find it.</summary>
    public string? DataSource { get; init; }

    /// <summary>The valid train.optimizer values.</summary>
    public static IReadOnlyList<string> OptimizerNames { get; } = ["adam", "fused_adam", "fused_adamw"];

    /// <summary>
    /// Optimizer the config asks for, over the model's <see cref="DenseParameters"/>:
    /// adam (torch.optim.Adam), fused_adam (the same update in one native call) or
    /// fused_adamw (decoupled weight decay); train.max_grad_norm &gt; 0 clips first.
    /// </summary>
    public static ITrainingOptimizer CreateOptimizer(MultiTaskModel model, TrainOptions train)
    {
        var parameters = DenseParameters(model);
        return train.Optimizer switch
        {
            "adam" => new TorchAdamOptimizer(parameters, train.Lr, train.WeightDecay, train.MaxGradNorm),
            "fused_adam" => new FusedAdamOptimizer(parameters, train.Lr, train.WeightDecay, train.MaxGradNorm, decoupled: false),
            "fused_adamw" => new FusedAdamOptimizer(parameters, train.Lr, train.WeightDecay, train.MaxGradNorm, decoupled: true),
            var other => throw new ConfigException($"train.optimizer: unknown optimizer '{other}'; valid: {string.Join(", ", OptimizerNames)}"),
        };
    }

    /// <summary>
    /// The model's named parameters except those of fused table-batched embeddings, which their
    /// own sparse optimizer updates in backward (their state is in the model's buffers).
    /// </summary>
    public static List<(string Name, TorchSharp.Modules.Parameter Parameter)> DenseParameters(MultiTaskModel model)
    {
        var fused = model.modules().OfType<Layers.TableBatchedEmbedding>().Where(t => t.Fused)
            .Select(t => t.Weights.Handle).ToHashSet();
        return model.named_parameters().Where(p => !fused.Contains(p.parameter.Handle)).Select(p => (p.name, p.parameter)).ToList();
    }

    /// <summary>
    /// Trains until train.epochs or early stopping. <paramref name="checkpoints"/> receives a checkpoint per epoch;
    /// <paramref name="resumeFrom"/> (a loaded checkpoint of this model) continues where it stopped.
    /// Epochs are evaluated, and the best one selected, on <paramref name="test"/>; with train.validation_days
    /// on a validation split of the last dates of <paramref name="train"/> instead (<see cref="ValidationSplit"/>),
    /// and <paramref name="test"/> is then scored once with the best checkpoint's weights (which the model keeps).
    /// When <paramref name="stop"/> is signalled, training stops after the step in progress, saves a checkpoint
    /// to resume from and throws <see cref="TrainingInterruptedException"/> (a stop during an epoch's evaluation
    /// takes effect once that epoch's checkpoint is written).
    /// </summary>
    public TrainingResult Fit(IBatchSource train, IBatchSource test, CheckpointStore checkpoints, Checkpoint? resumeFrom = null,
        CancellationToken stop = default)
    {
        var days = _config.Train.ValidationDays;
        if (resumeFrom != null && resumeFrom.Info.ValidationDays != days)
            throw new InvalidDataException($"cannot resume: the run held out {resumeFrom.Info.ValidationDays} validation day(s) (train.validation_days), " +
                                           $"this config {days}; the rows trained on would differ");
        if (days == 0)
        {
            var onTest = FitOn(train, test, "test", checkpoints, resumeFrom, stop);
            return onTest with { TestMetrics = onTest.BestMetrics };
        }
        if (!train.HasLabels)
            throw new InvalidDataException("training needs labeled train rows");
        var split = ValidationSplit.ByLastDates(train, days);
        _progress.Message($"validation split: date(s) {string.Join(", ", split.ValidationDates)} ({split.Validation.Rows} of the {train.Rows} " +
                          $"training rows) held out; epochs are evaluated and selected on it, the test split is scored once with the best epoch's weights");
        var result = FitOn(split.Fit, split.Validation, "validation", checkpoints, resumeFrom, stop) with { SelectedOn = "validation" };
        if (result.BestEpoch == 0 || !test.HasLabels) return result;
        using (var best = CheckpointStore.Load(CheckpointStore.Resolve(checkpoints.Directory)))
        {
            if (best.Info.Epoch != result.BestEpoch)
                throw new InvalidDataException($"checkpoint 'best' in {checkpoints.Directory} is of epoch {best.Info.Epoch}, expected {result.BestEpoch}");
            ModelWeights.Load(_model, best.Weights, "checkpoint");
        }
        var schema = test.Schema;
        var report = MetricsReport.Compute(Evaluator.Predict(_model, test, _config.Train.EvalBatchSize, _device), schema.ScenarioField, schema.ScenarioCount);
        return result with { TestMetrics = report.Values.ToDictionary(kv => kv.Key, kv => kv.Value) };
    }

    private TrainingResult FitOn(IBatchSource train, IBatchSource test, string evaluatedOn, CheckpointStore checkpoints, Checkpoint? resumeFrom,
        CancellationToken stop)
    {
        if (!train.HasLabels || !test.HasLabels)
            throw new InvalidDataException("training needs labeled train and test rows; the last date of this data is an impression log " +
                                           "(rows to score, no feedback columns): train on data whose last date has labels, then predict");
        var t = _config.Train;
        var schema = train.Schema;
        var taskWeights = t.WeightsFor(schema.Tasks);
        t.ValidateMetric(schema.Tasks, schema.ScenarioField, schema.ScenarioCount);
        using var weightTensor = tensor(taskWeights, device: _device);

        var history = new List<EpochRecord>();
        var step = 0L;
        var startEpoch = 1;
        EpochProgress? resumeInEpoch = null;
        double? best = null;
        var bestEpoch = 0;
        var sinceImprovement = 0;
        if (resumeFrom != null)
        {
            var info = resumeFrom.Info;
            if (info.Model != _model.ModelName)
                throw new InvalidDataException($"cannot resume: the checkpoint is of model '{info.Model}', this run trains '{_model.ModelName}'");
            if (info.Schema.Difference(schema) is { } diff) throw new InvalidDataException($"cannot resume: the data does not match the checkpoint: {diff}");
            if (info.Optimizer != _optimizer.Name)
                throw new InvalidDataException($"cannot resume: the checkpoint's optimizer is '{info.Optimizer}', this run uses '{_optimizer.Name}'");
            ModelWeights.Load(_model, resumeFrom.Weights, "checkpoint");
            _optimizer.LoadState(resumeFrom.TrainingState);
            history.AddRange(info.History);
            step = info.Step;
            startEpoch = info.Epoch + 1;
            resumeInEpoch = info.InProgress;
            if (resumeInEpoch != null && resumeInEpoch.Epoch != startEpoch)
                throw new InvalidDataException($"checkpoint is inconsistent: {info.Epoch} epoch(s) completed but epoch {resumeInEpoch.Epoch} in progress");
            (best, bestEpoch, sinceImprovement) = (info.EarlyStopping.BestValue, info.EarlyStopping.BestEpoch, info.EarlyStopping.EvalsWithoutImprovement);
            if (info.Rng.Seed != t.Seed)
                _progress.Message($"note: resuming with seed {t.Seed}; epochs 1..{info.Rng.EpochsCompleted} were shuffled with seed {info.Rng.Seed}");
            _progress.Message(resumeInEpoch is { } p
                ? $"resumed in epoch {p.Epoch} after {p.RowsDone} of its {train.Rows} rows (step {step})"
                : $"resumed from epoch {info.Epoch} (step {step})");
        }

        MetricsReport? lastReport = null;
        var stoppedEarly = false;
        // Where a stop between epochs resumes from: the checkpoint resumed from, then each epoch's.
        var lastCheckpoint = resumeFrom != null ? checkpoints.FindLast() : null;
        for (var epoch = startEpoch; epoch <= t.Epochs && !stoppedEarly; epoch++)
        {
            if (stop.IsCancellationRequested && resumeInEpoch == null)
                throw new TrainingInterruptedException(epoch, 0, train.Rows, step, lastCheckpoint);
            var clock = Stopwatch.StartNew();
            var earlyStopping = new EarlyStoppingInfo(t.EarlyStoppingMetric, best, bestEpoch, sinceImprovement);
            string SaveMidEpoch(EpochProgress progress, long atStep) =>
                SaveCheckpoint(checkpoints, schema, epoch - 1, atStep, history, earlyStopping, isBest: false, progress);
            var trainLoss = RunEpoch(train, epoch, weightTensor, ref step, resumeInEpoch, SaveMidEpoch, stop);
            resumeInEpoch = null;
            double? testLoss = null;
            Dictionary<string, double>? metrics = null;
            var isBest = false;
            if (epoch % t.EvalEvery == 0 || epoch == t.Epochs)
            {
                var predictions = Evaluator.Predict(_model, test, t.EvalBatchSize, _device);
                lastReport = MetricsReport.Compute(predictions, schema.ScenarioField, schema.ScenarioCount);
                metrics = lastReport.Values.ToDictionary(kv => kv.Key, kv => kv.Value);
                testLoss = Evaluator.WeightedLogLoss(lastReport, taskWeights);
                var value = lastReport[t.EarlyStoppingMetric];
                if (!double.IsNaN(value) && (best == null || (t.MetricIsLoss ? value < best : value > best)))
                {
                    (best, bestEpoch, sinceImprovement, isBest) = (value, epoch, 0, true);
                }
                else
                {
                    sinceImprovement++;
                    stoppedEarly = t.Patience > 0 && sinceImprovement >= t.Patience;
                }
            }
            var record = new EpochRecord(epoch, step, trainLoss, testLoss, metrics, clock.Elapsed.TotalSeconds) { EvaluatedOn = evaluatedOn };
            history.Add(record);
            lastCheckpoint = SaveCheckpoint(checkpoints, schema, epoch, step, history,
                new EarlyStoppingInfo(t.EarlyStoppingMetric, best, bestEpoch, sinceImprovement), isBest);
            _progress.EpochCompleted(record);
            if (stoppedEarly)
                _progress.Message($"early stopping: {t.EarlyStoppingMetric} did not improve for {sinceImprovement} evaluation(s); best epoch {bestEpoch}");
        }
        var bestMetrics = history.FirstOrDefault(h => h.Epoch == bestEpoch)?.Metrics;
        return new TrainingResult(history, bestEpoch, bestMetrics, lastReport, stoppedEarly, checkpoints.Directory);
    }

    /// <summary>
    /// One pass over the training rows in this epoch's order (from <paramref name="from"/>'s row when resuming
    /// mid-epoch); returns the mean loss per row. <paramref name="saveMidEpoch"/> writes a mid-epoch checkpoint;
    /// a signalled <paramref name="stop"/> writes one after the step in progress and throws.
    /// </summary>
    private double RunEpoch(IBatchSource train, int epoch, Tensor taskWeights, ref long step, EpochProgress? from,
        Func<EpochProgress, long, string> saveMidEpoch, CancellationToken stop)
    {
        var t = _config.Train;
        var order = EpochPermutation.Create(t.Seed, epoch, train.Rows, t.Shuffle);
        long rowsDone = from?.RowsDone ?? 0;
        if (rowsDone < 0 || rowsDone > order.Length)
            throw new InvalidDataException($"cannot resume: the checkpoint stopped after row {rowsDone} of epoch {epoch}, but the training split has {order.Length} rows");
        SeedDropout(epoch, rowsDone);
        var steps = (order.Length + t.BatchSize - 1) / t.BatchSize;
        _progress.EpochStarted(epoch, t.Epochs, steps, order.Length);
        _model.train();
        using var lossSum = zeros(1, dtype: ScalarType.Float64, device: _device);
        var rowsForLoss = 0L;
        if (from != null)
        {
            lossSum.fill_(from.LossSum);
            rowsForLoss = from.LossRows;
        }
        double MeanLoss() => rowsForLoss == 0 ? double.NaN : lossSum.item<double>() / rowsForLoss;
        // Steps are counted from the epoch's start so progress reads the same after a resume (exact when the batch size is unchanged).
        for (var s = (int)(rowsDone / t.BatchSize); rowsDone < order.Length; s++)
        {
            var batchRows = (int)Math.Min(t.BatchSize, order.Length - rowsDone);
            using (var scope = NewDisposeScope())
            {
                var rows = order.AsSpan((int)rowsDone, batchRows);
                using var batch = train.GetBatch(rows, _device);
                var logits = _model.forward(batch);
                var perTask = nn.functional.binary_cross_entropy_with_logits(logits, batch.Labels, reduction: nn.Reduction.None).mean([0]);
                var loss = (perTask * taskWeights).sum();
                _optimizer.ZeroGrad();
                loss.backward();
                _optimizer.Step();
                using var noGrad = no_grad();
                lossSum.add_(loss.detach().to(ScalarType.Float64) * rows.Length);
            }
            rowsDone += batchRows;
            rowsForLoss += batchRows;
            step++;
            _progress.StepCompleted(s + 1, rowsDone, MeanLoss);
            if (rowsDone == order.Length) break;
            // Mid-epoch checkpoints follow the run's step count, so where they fall does not depend on earlier resumes.
            string? saved = null;
            if (t.CheckpointEverySteps > 0 && step % t.CheckpointEverySteps == 0)
            {
                saved = saveMidEpoch(new EpochProgress(epoch, rowsDone, lossSum.item<double>(), rowsForLoss), step);
                // torch's CUDA generator state cannot be saved from .NET; restarting the dropout stream here from
                // (seed, epoch, row) lets a resume from this checkpoint draw exactly what this run draws next.
                SeedDropout(epoch, rowsDone);
            }
            // A resume from a stop's checkpoint also restarts the dropout stream at this row, so it equals an
            // uninterrupted run exactly when dropout is off or the stop fell on a checkpoint_every_steps step.
            if (stop.IsCancellationRequested)
                throw new TrainingInterruptedException(epoch, rowsDone, order.Length, step,
                    saved ?? saveMidEpoch(new EpochProgress(epoch, rowsDone, lossSum.item<double>(), rowsForLoss), step));
        }
        return MeanLoss();
    }

    /// <summary>
    /// Dropout draws from torch's generators. Seeding them from (seed, epoch) at an epoch's start, and from
    /// (seed, epoch, row) at a mid-epoch checkpoint, makes the masks independent of what ran before, so a resumed
    /// run draws exactly what an uninterrupted one would, on the CPU and on CUDA.
    /// </summary>
    private void SeedDropout(int epoch, long rowsDone)
    {
        var dropoutSeed = EpochPermutation.SeedFor(_config.Train.Seed, epoch, stream: 1, position: rowsDone);
        random.manual_seed(dropoutSeed);
        if (cuda.is_available()) cuda.manual_seed_all(dropoutSeed);
    }

    private string SaveCheckpoint(CheckpointStore store, Data.FeatureSchema schema, int epoch, long step, List<EpochRecord> history,
        EarlyStoppingInfo earlyStopping, bool isBest, EpochProgress? inProgress = null)
    {
        var state = _optimizer.SaveState();
        try
        {
            var info = new CheckpointInfo
            {
                Model = _model.ModelName,
                ConfigYaml = _config.ToYaml(),
                Schema = SchemaInfo.From(schema),
                Epoch = epoch,
                Step = step,
                InProgress = inProgress,
                Optimizer = _optimizer.Name,
                Rng = new RngInfo(_config.Train.Seed, epoch),
                EarlyStopping = earlyStopping,
                History = history.ToList(),
                Kernels = _model.Kernels.ToString().ToLowerInvariant(),
                ValidationDays = _config.Train.ValidationDays,
                Data = DataSource,
            };
            // The weights are the model's live tensors: written, not disposed.
            return store.Save(new Checkpoint(info, _model.state_dict(), state), isBest);
        }
        finally
        {
            foreach (var tensor in state.Values) tensor.Dispose();
        }
    }
}
