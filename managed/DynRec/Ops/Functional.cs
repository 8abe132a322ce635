using static TorchSharp.torch;

namespace DynRec.Ops;

/// <summary>
/// The ops with a <see cref="Kernels"/> switch: Native runs libdynrec through
/// the autograd functions, Reference composes the same math from TorchSharp ops.
/// </summary>
public static class Functional
{
    /// <summary>delta = gamma * sigmoid(relu(x w1^T + b1) w2^T + b2).</summary>
    public static Tensor GateNu(Tensor x, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2, float gamma, Kernels kernels)
    {
        if (kernels == Kernels.Reference) return Reference.GateNu(x, w1, b1, w2, b2, gamma);
        return GateNuFunction.apply(x.contiguous(), w1, b1!, w2, b2!, gamma)[0];
    }
}
