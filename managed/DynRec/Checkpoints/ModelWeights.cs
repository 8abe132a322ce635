using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Checkpoints;

/// <summary>
/// Saves and loads a module's parameters and buffers as safetensors under
/// their PyTorch-style names (epnet.gate.fc1.weight [out, in], ...).
/// Loading is strict: a missing tensor, an unexpected one or a shape mismatch
/// throws <see cref="InvalidDataException"/> naming the tensor, before any
/// weight of the module is changed.
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
            var state = State(module).ToList();
            foreach (var (name, target) in state)
            {
                if (!tensors.TryGetValue(name, out var source))
                    throw new InvalidDataException($"{path}: missing tensor '{name}' (shape [{string.Join(", ", target.shape)}])");
                if (!source.shape.SequenceEqual(target.shape))
                    throw new InvalidDataException(
                        $"{path}: tensor '{name}' has shape [{string.Join(", ", source.shape)}], the model expects [{string.Join(", ", target.shape)}]");
            }
            var known = state.Select(s => s.Key).ToHashSet();
            var extra = tensors.Keys.Where(k => !known.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
            if (extra.Count > 0)
                throw new InvalidDataException($"{path}: unexpected tensor '{extra[0]}' (the model has no such parameter)" +
                    (extra.Count > 1 ? $" and {extra.Count - 1} more" : ""));
            using (no_grad())
                foreach (var (name, target) in state) target.copy_(tensors[name]);
            return metadata;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>Parameters then buffers, by PyTorch-style name.</summary>
    public static IEnumerable<KeyValuePair<string, Tensor>> State(nn.Module module) =>
        module.named_parameters().Select(p => new KeyValuePair<string, Tensor>(p.name, p.parameter))
            .Concat(module.named_buffers().Select(b => new KeyValuePair<string, Tensor>(b.name, b.buffer)));
}
