using DynRec.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Layers;

/// <summary>
/// PEPNet's Gate Neural Unit: delta = gamma * sigmoid(fc2(relu(fc1(x)))), gamma 2
/// by default, so a gate can scale a signal up as well as down. Parameters are
/// named like PyTorch's (fc1.weight [hidden, in], ...).
/// </summary>
public sealed class GateNU : nn.Module<Tensor, Tensor>, IKernelSwitch
{
    private readonly Linear fc1;
    private readonly Linear fc2;

    public GateNU(long inFeatures, long hiddenFeatures, long outFeatures, float gamma = 2f,
        Kernels kernels = Kernels.Native) : base(nameof(GateNU))
    {
        fc1 = nn.Linear(inFeatures, hiddenFeatures);
        fc2 = nn.Linear(hiddenFeatures, outFeatures);
        Gamma = gamma;
        Kernels = kernels;
        RegisterComponents();
    }

    public float Gamma { get; }

    public Kernels Kernels { get; set; }

    public Linear Fc1 => fc1;

    public Linear Fc2 => fc2;

    public override Tensor forward(Tensor x) =>
        Functional.GateNu(x, fc1.weight!, fc1.bias, fc2.weight!, fc2.bias, Gamma, Kernels);

    /// <summary>The gate over concat(head, sg(tail)): no gradient flows into tail (fc1's input width
    /// is head's plus tail's).</summary>
    public Tensor forward(Tensor head, Tensor stopGradientTail) =>
        Functional.GateNuConcat(head, stopGradientTail, fc1.weight!, fc1.bias, fc2.weight!, fc2.bias, Gamma, Kernels);
}
