using System.Diagnostics;
using DynRec.Models;
using static TorchSharp.torch;

namespace DynRec.Training;

/// <summary>
/// Times full training steps (forward, per-task BCE, backward, optimizer step)
/// on fixed batches prepared in advance, so that data loading is not timed.
/// Warm-up steps are run first; CUDA work is synchronized before reading the clock.
/// </summary>
public static class StepBenchmark
{
    /// <param name="FirstLoss">Loss of the first warm-up step (for comparing two kernel paths on the same start).</param>
    public sealed record Result(int BatchSize, int Steps, double Seconds, double SamplesPerSecond, double FirstLoss)
    {
        /// <summary>This and a later measurement of the same path together (the first loss stays this one's).</summary>
        public Result Add(Result later) => this with
        {
            Steps = Steps + later.Steps,
            Seconds = Seconds + later.Seconds,
            SamplesPerSecond = (double)BatchSize * (Steps + later.Steps) / (Seconds + later.Seconds),
        };
    }

    /// <summary>
    /// Where a step's time goes, per step, in milliseconds: each phase is followed by a device
    /// synchronization, so "issue" is the host time to hand the phase's work out and "wall" adds the
    /// wait for the device. Issue close to wall means the host bounds that phase (launch and
    /// dispatch overhead); wall far above issue means the device does. A diagnostic: the
    /// synchronizations remove the overlap a normal step has, so the sum exceeds <see cref="Measure"/>'s ms/step.
    /// </summary>
    public sealed record PhaseTimes(int Steps, double ForwardIssueMs, double ForwardMs, double LossMs, double BackwardIssueMs,
        double BackwardMs, double OptimizerIssueMs, double OptimizerMs)
    {
        public double TotalMs => ForwardMs + LossMs + BackwardMs + OptimizerMs;
    }

    public static Result Measure(MultiTaskModel model, ITrainingOptimizer optimizer, IBatchSource source, int batchSize, int warmup, int steps,
        Device device, int distinctBatches = 4)
    {
        CheckArguments(source, batchSize, warmup, steps);
        var batches = PrepareBatches(source, batchSize, device, distinctBatches);
        try
        {
            model.train();
            var firstLoss = double.NaN;
            for (var s = 0; s < warmup; s++)
            {
                var loss = Step(model, optimizer, batches[s % batches.Count]);
                if (s == 0) firstLoss = loss;
            }
            Synchronize(device);
            var clock = Stopwatch.StartNew();
            for (var s = 0; s < steps; s++)
            {
                var loss = Step(model, optimizer, batches[s % batches.Count], readLoss: warmup == 0 && s == 0);
                if (warmup == 0 && s == 0) firstLoss = loss;
            }
            Synchronize(device);
            var seconds = clock.Elapsed.TotalSeconds;
            return new Result(batchSize, steps, seconds, (double)batchSize * steps / seconds, firstLoss);
        }
        finally
        {
            foreach (var b in batches) b.Dispose();
        }
    }

    /// <summary>Times the phases of <paramref name="steps"/> training steps (after warm-up) one by one (see <see cref="PhaseTimes"/>).</summary>
    public static PhaseTimes MeasurePhases(MultiTaskModel model, ITrainingOptimizer optimizer, IBatchSource source, int batchSize, int warmup,
        int steps, Device device, int distinctBatches = 4)
    {
        CheckArguments(source, batchSize, warmup, steps);
        var batches = PrepareBatches(source, batchSize, device, distinctBatches);
        try
        {
            model.train();
            for (var s = 0; s < warmup; s++) Step(model, optimizer, batches[s % batches.Count], readLoss: false);
            Synchronize(device);
            double fwdIssue = 0, fwd = 0, lossMs = 0, bwdIssue = 0, bwd = 0, optIssue = 0, opt = 0;
            var clock = new Stopwatch();
            for (var s = 0; s < steps; s++)
            {
                using var scope = NewDisposeScope();
                var batch = batches[s % batches.Count];
                clock.Restart();
                var logits = model.forward(batch);
                fwdIssue += clock.Elapsed.TotalMilliseconds;
                Synchronize(device);
                fwd += clock.Elapsed.TotalMilliseconds;
                clock.Restart();
                var loss = Loss(logits, batch);
                Synchronize(device);
                lossMs += clock.Elapsed.TotalMilliseconds;
                clock.Restart();
                optimizer.ZeroGrad();
                loss.backward();
                bwdIssue += clock.Elapsed.TotalMilliseconds;
                Synchronize(device);
                bwd += clock.Elapsed.TotalMilliseconds;
                clock.Restart();
                optimizer.Step();
                optIssue += clock.Elapsed.TotalMilliseconds;
                Synchronize(device);
                opt += clock.Elapsed.TotalMilliseconds;
            }
            return new PhaseTimes(steps, fwdIssue / steps, fwd / steps, lossMs / steps, bwdIssue / steps, bwd / steps, optIssue / steps, opt / steps);
        }
        finally
        {
            foreach (var b in batches) b.Dispose();
        }
    }

    private static void CheckArguments(IBatchSource source, int batchSize, int warmup, int steps)
    {
        if (steps < 1 || warmup < 0 || batchSize < 1) throw new ArgumentException("bench: steps >= 1, warmup >= 0 and batch size >= 1 are required");
        if (source.Rows == 0) throw new ArgumentException("bench: the data has no rows");
    }

    // Fixed batches on the device, made before timing so that data loading is not timed.
    private static List<Data.Batch> PrepareBatches(IBatchSource source, int batchSize, Device device, int distinctBatches)
    {
        var rows = source.Rows;
        var batches = new List<Data.Batch>();
        for (var b = 0; b < distinctBatches; b++)
        {
            var index = Enumerable.Range(0, batchSize).Select(i => (b * batchSize + i) % rows).ToArray();
            batches.Add(source.GetBatch(index, device));
        }
        return batches;
    }

    private static Tensor Loss(Tensor logits, Data.Batch batch) =>
        nn.functional.binary_cross_entropy_with_logits(logits, batch.Labels, reduction: nn.Reduction.None).mean([0]).sum();

    private static double Step(MultiTaskModel model, ITrainingOptimizer optimizer, Data.Batch batch, bool readLoss = true)
    {
        using var scope = NewDisposeScope();
        var logits = model.forward(batch);
        var loss = Loss(logits, batch);
        optimizer.ZeroGrad();
        loss.backward();
        optimizer.Step();
        return readLoss ? loss.item<float>() : double.NaN;
    }

    private static void Synchronize(Device device)
    {
        if (device.type == TorchSharp.DeviceType.CUDA) cuda.synchronize(device);
    }
}
