using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Checkpoints;

/// <summary>
/// A module's parameters and buffers under their PyTorch-style names
/// (epnet.gate.fc1.weight [out, in], ...) as safetensors. Loading is strict
/// (PyTorch's load_state_dict(strict=True)): missing, unexpected or mis-shaped
/// tensors throw <see cref="InvalidDataException"/> naming them, before any
/// tensor of the module is changed.
/// </summary>
public static class ModelWeights
{
    public static void Save(nn.Module module, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        SafeTensors.Save(path, State(module), metadata);

    /// <summary>Loads the file into the module's tensors (copying onto their device); returns the file's metadata.</summary>
    public static Dictionary<string, string> Load(nn.Module module, string path)
    {
        var (tensors, metadata) = SafeTensors.Load(path);
        try
        {
            Load(module, tensors, path);
            return metadata;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>Copies <paramref name="weights"/> into the module; <paramref name="source"/> names them in errors.</summary>
    public static void Load(nn.Module module, IReadOnlyDictionary<string, Tensor> weights, string source)
    {
        var state = State(module).ToList();
        var problems = new List<string>();
        foreach (var (name, target) in state)
        {
            if (!weights.TryGetValue(name, out var saved))
                problems.Add($"missing tensor '{name}' (shape [{Shape(target)}])");
            else if (!saved.shape.SequenceEqual(target.shape))
                problems.Add($"tensor '{name}' has shape [{Shape(saved)}], the model expects [{Shape(target)}]");
        }
        var known = state.Select(s => s.Key).ToHashSet();
        problems.AddRange(weights.Keys.Where(k => !known.Contains(k)).OrderBy(k => k, StringComparer.Ordinal)
            .Select(k => $"unexpected tensor '{k}' (the model has no such parameter or buffer)"));
        if (problems.Count > 0)
            throw new InvalidDataException($"{source} does not fit the model (a checkpoint of another model or config?): " +
                                           string.Join("; ", problems.Take(4)) + (problems.Count > 4 ? $"; and {problems.Count - 4} more" : ""));
        using var noGrad = no_grad();
        foreach (var (name, target) in state) target.copy_(weights[name]);
    }

    /// <summary>Parameters then buffers, by PyTorch-style name.</summary>
    public static IEnumerable<KeyValuePair<string, Tensor>> State(nn.Module module) =>
        module.named_parameters().Select(p => new KeyValuePair<string, Tensor>(p.name, p.parameter))
            .Concat(module.named_buffers().Select(b => new KeyValuePair<string, Tensor>(b.name, b.buffer)));

    private static string Shape(Tensor t) => string.Join(", ", t.shape);
}
