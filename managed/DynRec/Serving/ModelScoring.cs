using DynRec.Data;
using DynRec.Models;
using static TorchSharp.torch;

namespace DynRec.Serving;

/// <summary>One forward pass of a trained model over encoded rows, for the scorers.</summary>
internal static class ModelScoring
{
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
