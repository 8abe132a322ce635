using DynRec.Interop;
using DynRec.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Layers;

/// <summary>
/// A dense step whose weights are generated per sample from a condition z
/// (hyper_linear): S = reshape(weight_gen(z), [n_in, n_out]), c = bias_gen(z),
/// y = act(x S + c). Parameters: weight_gen.weight [n_in*n_out, n_cond] (G),
/// weight_gen.bias (g), bias_gen.weight [n_out, n_cond] (Gb), bias_gen.bias (gb).
/// Init: G and Gb glorot-uniform (Keras' Dense, as FunRec); gb zero; g, the
/// condition-independent part of S, starts as torch.nn.Linear would start an
/// n_in -> n_out layer (U(±1/sqrt(n_in))) — FunRec starts it at zero, which
/// leaves S ≈ 0 while the condition is small and stalls the first steps.
/// </summary>
public sealed class GeneratedLinear : nn.Module<Tensor, Tensor, Tensor>, IKernelSwitch
{
    private readonly Linear weight_gen;
    private readonly Linear bias_gen;

    public GeneratedLinear(long inFeatures, long outFeatures, long condFeatures, Activation activation = Activation.None,
        Kernels kernels = Kernels.Native) : base(nameof(GeneratedLinear))
    {
        weight_gen = KerasDense(condFeatures, inFeatures * outFeatures);
        bias_gen = KerasDense(condFeatures, outFeatures);
        using (no_grad())
        {
            var bound = 1.0 / Math.Sqrt(inFeatures);
            nn.init.uniform_(weight_gen.bias!, -bound, bound);
        }
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Activation = activation;
        Kernels = kernels;
        RegisterComponents();
    }

    public Kernels Kernels { get; set; }
    public long InFeatures { get; }
    public long OutFeatures { get; }
    public Activation Activation { get; }

    public GeneratedWeights Weights => new(weight_gen.weight!, weight_gen.bias, bias_gen.weight!, bias_gen.bias);

    /// <summary>x [N, n_in], z [N / R, n_cond] (each condition row serving R consecutive rows) -> [N, n_out].</summary>
    public override Tensor forward(Tensor x, Tensor z) =>
        Functional.HyperLinear(x, z, weight_gen.weight!, weight_gen.bias, bias_gen.weight!, bias_gen.bias, Activation,
            Kernels);

    internal static Linear KerasDense(long inFeatures, long outFeatures)
    {
        var layer = nn.Linear(inFeatures, outFeatures);
        using (no_grad())
        {
            nn.init.xavier_uniform_(layer.weight!);
            layer.bias!.zero_();
        }
        return layer;
    }
}
