using DynRec.Models;
using static TorchSharp.torch;

namespace DynRec.Training.Checkpointing;

/// <summary>Copies saved weights into a model, insisting on the same names and shapes (PyTorch's strict load_state_dict).</summary>
public static class ModelWeights
{
    public static void Load(MultiTaskModel model, IReadOnlyDictionary<string, Tensor> weights, string source)
    {
        var live = model.state_dict();
        var missing = live.Keys.Where(k => !weights.ContainsKey(k)).ToList();
        var unexpected = weights.Keys.Where(k => !live.ContainsKey(k)).ToList();
        if (missing.Count > 0 || unexpected.Count > 0)
            throw new InvalidDataException(
                $"{source} does not fit model '{model.ModelName}' (a checkpoint of another model or config?): " +
                $"missing {Sample(missing)}, unexpected {Sample(unexpected)}");
        using var noGrad = no_grad();
        foreach (var (name, target) in live)
        {
            var saved = weights[name];
            if (!saved.shape.SequenceEqual(target.shape))
                throw new InvalidDataException(
                    $"{source}: '{name}' has shape [{string.Join(", ", saved.shape)}], model '{model.ModelName}' needs [{string.Join(", ", target.shape)}] (different config or vocabulary?)");
            target.copy_(saved);
        }
    }

    private static string Sample(List<string> names) =>
        names.Count == 0 ? "none" : string.Join(", ", names.Take(4)) + (names.Count > 4 ? $" (+{names.Count - 4} more)" : "");
}
