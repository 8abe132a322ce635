using static TorchSharp.torch;

namespace DynRec.Training;

/// <summary>
/// The optimizer seam: what the trainer needs to step parameters and to save
/// and restore the optimizer's state exactly. State tensors are named
/// "&lt;parameter name&gt;.&lt;slot&gt;" and travel in a checkpoint's
/// training_state.safetensors.
/// </summary>
public interface ITrainingOptimizer : IDisposable
{
    /// <summary>Registry name stored in checkpoints (a checkpoint of one optimizer cannot resume another).</summary>
    string Name { get; }
    void ZeroGrad();
    void Step();
    /// <summary>A CPU copy of every state tensor (the caller disposes them).</summary>
    Dictionary<string, Tensor> SaveState();
    /// <summary>Restores <see cref="SaveState"/>'s output; throws InvalidDataException naming a missing or mis-shaped entry.</summary>
    void LoadState(IReadOnlyDictionary<string, Tensor> state);
}
