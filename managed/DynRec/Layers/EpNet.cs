using DynRec.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Layers;

/// <summary>
/// PEPNet's Embedding Personalized Network, as FunRec's EPNet: O = delta ⊙ E
/// with delta = GateNU(concat(domain, sg(E))), the gate's hidden and output
/// widths both equal to E's width (FunRec: GateNU(hidden_units=[dim, dim])).
/// Parameters: gate.fc1.*, gate.fc2.*.
/// </summary>
public sealed class EpNet : nn.Module<Tensor, Tensor, Tensor>, IKernelSwitch
{
    private readonly GateNU gate;

    public EpNet(long domainFeatures, long embFeatures, float gamma = 2f, Kernels kernels = Kernels.Native)
        : base(nameof(EpNet))
    {
        gate = new GateNU(domainFeatures + embFeatures, embFeatures, embFeatures, gamma, kernels);
        Kernels = kernels;
        RegisterComponents();
    }

    public Kernels Kernels { get; set; }

    public GateNU Gate => gate;

    /// <summary>domain [B, Dd], emb [B, De] -> delta ⊙ emb [B, De].</summary>
    public override Tensor forward(Tensor domain, Tensor emb) =>
        Functional.EpNet(domain, emb, gate.Fc1.weight!, gate.Fc1.bias, gate.Fc2.weight!, gate.Fc2.bias, gate.Gamma,
            Kernels);
}
