using DynRec.Interop;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DynRec.Ops;

/// <summary>
/// The ops with a <see cref="Kernels"/> switch: Native runs libdynrec through
/// the autograd functions, Reference composes the same math from TorchSharp ops.
/// </summary>
/// <remarks>
/// Ops whose native export has not landed in dynrec.h yet (marked TODO below)
/// run the TorchSharp composition on the native path too, keeping the call
/// shape so the native autograd function (pattern: <see cref="GateNuFunction"/>)
/// plugs in at one place.
/// </remarks>
public static class Functional
{
    /// <summary>delta = gamma * sigmoid(relu(x w1^T + b1) w2^T + b2).</summary>
    public static Tensor GateNu(Tensor x, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2, float gamma, Kernels kernels)
    {
        if (kernels == Kernels.Reference) return Reference.GateNu(x, w1, b1, w2, b2, gamma);
        return GateNuFunction.apply(x.contiguous(), w1, b1!, w2, b2!, gamma)[0];
    }

    /// <summary>PPNet layer; see <see cref="Reference.GatedLinear"/>.</summary>
    public static Tensor GatedLinear(Tensor x, Tensor w, Tensor? b, Tensor delta, Activation activation,
        GatePosition position, Kernels kernels)
    {
        // TODO(gated_linear native): call GatedLinearFunction.apply(...) over
        // dynrec_gated_linear_forward/backward once they are in dynrec.h.
        return Reference.GatedLinear(x, w, b, delta, activation, position);
    }

    /// <summary>T PPNet towers of one layer in one call; see <see cref="Reference.GatedLinearTowers"/>.</summary>
    public static Tensor GatedLinearTowers(Tensor x, Tensor w, Tensor? b, Tensor delta, Activation activation,
        GatePosition position, Kernels kernels)
    {
        // TODO(gated_linear native, tower-batched form): call the native tower
        // autograd function once dynrec_gated_linear_towers_* are in dynrec.h.
        return Reference.GatedLinearTowers(x, w, b, delta, activation, position);
    }

    /// <summary>EPNet: O = delta ⊙ E, delta = gate_nu(concat(domain, sg(E))).</summary>
    public static Tensor EpNet(Tensor domain, Tensor emb, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2, float gamma,
        Kernels kernels)
    {
        if (kernels == Kernels.Reference) return Reference.EpNet(domain, emb, w1, b1, w2, b2, gamma);
        // TODO(epnet native): replace with the fused EpNetFunction over
        // dynrec_epnet_forward/backward once it is in dynrec.h. Until then the
        // gate runs natively (gate_nu) and the product in TorchSharp.
        var delta = GateNu(cat(new[] { domain, emb.detach() }, 1), w1, b1, w2, b2, gamma, kernels);
        return delta * emb;
    }

    /// <summary>hyper_linear; see <see cref="Reference.HyperLinear"/>.</summary>
    public static Tensor HyperLinear(Tensor x, Tensor z, Tensor g, Tensor? gBias, Tensor gb, Tensor? gbBias,
        Activation activation, Kernels kernels)
    {
        // TODO(hyper_linear native): call HyperLinearFunction.apply(...) over
        // dynrec_hyper_linear_forward/backward once they are in dynrec.h.
        return Reference.HyperLinear(x, z, g, gBias, gb, gbBias, activation);
    }

    /// <summary>FunRec's APGLayer chain; see <see cref="Reference.ApgLayer"/>.</summary>
    public static Tensor ApgLayer(Tensor x, Tensor z, ApgLayerWeights weights, ApgLayerSpec spec, Kernels kernels)
    {
        if (kernels == Kernels.Reference) return Reference.ApgLayer(x, z, weights, spec);
        // TODO(apg_layer native): call ApgLayerFunction.apply(...) over
        // dynrec_apg_layer_forward/backward once they are in dynrec.h; until
        // then the generated KK (and NK/KM) steps go through HyperLinear.
        return ApgLayerComposed(x, z, weights, spec, kernels);
    }

    // The APG chain from dense steps and HyperLinear with the kernels switch.
    private static Tensor ApgLayerComposed(Tensor x, Tensor z, ApgLayerWeights w, ApgLayerSpec spec, Kernels kernels)
    {
        var inner = spec.InnerActivation;
        Tensor Dense(Tensor h, DenseWeights d) => F.linear(h, d.Weight, d.Bias);
        Tensor Gen(Tensor h, GeneratedWeights g, Activation act) =>
            HyperLinear(h, z, g.G, g.GBias, g.Gb, g.GbBias, act, kernels);
        Tensor output = spec.Mode switch
        {
            ApgMode.UvSharedMfP => Dense(Reference.Activate(Dense(Gen(Reference.Activate(Dense(
                Reference.Activate(Dense(x, w.Np!), inner), w.Pk!), inner), w.Kk, inner), w.Kp!), inner), w.Pm!),
            ApgMode.UvShared => Dense(Gen(Reference.Activate(Dense(x, w.Nk!), inner), w.Kk, inner), w.Km!),
            ApgMode.Specific => Gen(Gen(Gen(x, w.NkGen!, inner), w.Kk, inner), w.KmGen!, Activation.None),
            _ => throw new ArgumentOutOfRangeException(nameof(spec), spec.Mode, "unknown apg mode"),
        };
        return Reference.Activate(output, spec.OutputActivation);
    }
}
