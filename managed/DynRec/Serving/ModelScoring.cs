using DynRec.Data;
using DynRec.Models;
using static TorchSharp.torch;

namespace DynRec.Serving;

/// <summary>One forward pass of a trained model over encoded rows, for the scorers.</summary>
/// <summary>Probabilities, row-major [rows, tasks], of the given (request, candidate) rows.</summary>
internal delegate float[] RowsForward(ReadOnlySpan<(int Request, int Candidate)> rows);

internal static class ModelScoring
{
    /// <summary>
    /// Every request's probabilities, [request][task][candidate]: the (request, candidate) rows of all requests in
    /// order, scored <paramref name="maxRows"/> at a time by <paramref name="forward"/>.
    /// </summary>
    public static float[][][] InPasses(IReadOnlyList<int> candidates, int tasks, int maxRows, RowsForward forward)
    {
        var results = candidates.Select(n => Enumerable.Range(0, tasks).Select(_ => new float[n]).ToArray()).ToArray();
        var rows = candidates.SelectMany((n, i) => Enumerable.Range(0, n).Select(c => (Request: i, Candidate: c))).ToArray();
        for (var start = 0; start < rows.Length; start += maxRows)
        {
            var chunk = rows.AsSpan(start, Math.Min(maxRows, rows.Length - start));
            var p = forward(chunk);
            for (var k = 0; k < chunk.Length; k++)
                for (var t = 0; t < tasks; t++)
                    results[chunk[k].Request][t][chunk[k].Candidate] = p[k * tasks + t];
        }
        return results;
    }

    /// <summary>
    /// Probabilities, row-major [rows, tasks], of <paramref name="b"/> rows: sparse ids [b, fields], the
    /// click sequence [b, L] or null, each row's scenario index and GAUC user (unused when scoring).
    /// </summary>
    public static float[] Probabilities(MultiTaskModel model, Device device, int b, long[] sparse, long[]? sequence, long[] scenario, long[] users)
    {
        var schema = model.Schema;
        int f = schema.SparseFields.Count, t = schema.Tasks.Count, len = schema.Sequence?.MaxLength ?? 0;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var batch = new Batch(
            tensor(sparse, [b, f]).to(device),
            len == 0 ? null : tensor(sequence!, [b, len]).to(device),
            zeros([b, t], device: device),
            tensor(scenario).to(device),
            tensor(users).to(device));
        model.eval();  // a caller may have switched it to training mode
        var logits = model.forward(batch);
        if (logits.shape.Length != 2 || logits.shape[0] != b || logits.shape[1] != t)
            throw new InvalidOperationException($"model '{model.ModelName}' returned logits of shape [{string.Join(", ", logits.shape)}], expected [{b}, {t}]");
        return sigmoid(logits).to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
    }
}
