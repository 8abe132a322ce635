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

    public static Result Measure(MultiTaskModel model, ITrainingOptimizer optimizer, IBatchSource source, int batchSize, int warmup, int steps,
        Device device, int distinctBatches = 4)
    {
        if (steps < 1 || warmup < 0 || batchSize < 1) throw new ArgumentException("bench: steps >= 1, warmup >= 0 and batch size >= 1 are required");
        var rows = source.Rows;
        if (rows == 0) throw new ArgumentException("bench: the data has no rows");
        var batches = new List<Data.Batch>();
        try
        {
            for (var b = 0; b < distinctBatches; b++)
            {
                var index = Enumerable.Range(0, batchSize).Select(i => (b * batchSize + i) % rows).ToArray();
                batches.Add(source.GetBatch(index, device));
            }
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

    private static double Step(MultiTaskModel model, ITrainingOptimizer optimizer, Data.Batch batch, bool readLoss = true)
    {
        using var scope = NewDisposeScope();
        var logits = model.forward(batch);
        var loss = nn.functional.binary_cross_entropy_with_logits(logits, batch.Labels, reduction: nn.Reduction.None).mean([0]).sum();
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
