using static TorchSharp.torch;

namespace DynRec.Training;

/// <summary>Lookup of a saved optimizer-state tensor with errors that name it.</summary>
internal static class OptimizerState
{
    public static Tensor Get(IReadOnlyDictionary<string, Tensor> state, string key, long[] shape)
    {
        if (!state.TryGetValue(key, out var t))
            throw new InvalidDataException($"optimizer state lacks '{key}' (checkpoint from another model or optimizer?)");
        if (!t.shape.SequenceEqual(shape))
            throw new InvalidDataException($"optimizer state '{key}' has shape [{string.Join(", ", t.shape)}], the parameter needs [{string.Join(", ", shape)}]");
        return t;
    }
}
