using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DynRec.Ops;

/// <summary>Pure-TorchSharp reference implementations of the native ops (the spec on the managed side).</summary>
public static class Reference
{
    public static Tensor GateNu(Tensor x, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2, float gamma) =>
        gamma * sigmoid(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2));
}
