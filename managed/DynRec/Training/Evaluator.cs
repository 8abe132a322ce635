using DynRec.Metrics;
using DynRec.Models;
using static TorchSharp.torch;

namespace DynRec.Training;

/// <summary>
/// Runs a model over a whole split in eval mode (no dropout, no autograd) and
/// collects probabilities, labels, scenarios and user ids into arrays for the
/// metrics, one dispose scope per batch.
/// </summary>
public static class Evaluator
{
    public static PredictionSet Predict(MultiTaskModel model, IBatchSource source, int batchSize, Device device)
    {
        var rows = source.Rows;
        var tasks = source.Schema.Tasks;
        var probabilities = tasks.Select(_ => new float[rows]).ToArray();
        var labels = tasks.Select(_ => new float[rows]).ToArray();
        var scenario = new long[rows];
        var users = new long[rows];
        var wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            var index = new int[Math.Min(batchSize, Math.Max(rows, 1))];
            for (var start = 0; start < rows; start += batchSize)
            {
                using var scope = NewDisposeScope();
                var n = Math.Min(batchSize, rows - start);
                for (var i = 0; i < n; i++) index[i] = start + i;
                using var batch = source.GetBatch(index.AsSpan(0, n), device);
                var logits = model.forward(batch);
                if (logits.shape.Length != 2 || logits.shape[0] != n || logits.shape[1] != tasks.Count)
                    throw new InvalidOperationException($"model '{model.ModelName}' returned logits of shape [{string.Join(", ", logits.shape)}], expected [{n}, {tasks.Count}]");
                var p = sigmoid(logits).to(ScalarType.Float32).cpu().t().contiguous();
                var y = batch.Labels.to(ScalarType.Float32).cpu().t().contiguous();
                for (var t = 0; t < tasks.Count; t++)
                {
                    p[t].data<float>().CopyTo(probabilities[t], start);
                    y[t].data<float>().CopyTo(labels[t], start);
                }
                batch.Scenario.to(ScalarType.Int64).cpu().data<long>().CopyTo(scenario, start);
                batch.UserIds.to(ScalarType.Int64).cpu().data<long>().CopyTo(users, start);
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        return new PredictionSet(tasks, probabilities, labels, scenario, users, source.Oracle);
    }

    /// <summary>Task-weighted mean logloss, the test-side counterpart of the training loss.</summary>
    public static double WeightedLogLoss(MetricsReport report, float[] taskWeights) =>
        report.Overall.Select((m, t) => m.LogLoss * taskWeights[t]).Sum();
}
