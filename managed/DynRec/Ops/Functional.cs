using DynRec.Interop;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

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
        return GateNuFunction.apply(x.contiguous(), null!, w1, b1!, w2, b2!, gamma)[0];
    }

    /// <summary>
    /// delta = gate_nu(concat(head, sg(tail))): tail is stop-gradient (PPNet's gates over
    /// concat(persona, sg(O_ep))). The native backward forms only head's input-gradient
    /// columns; the reference path concatenates and detaches.
    /// </summary>
    public static Tensor GateNuConcat(Tensor head, Tensor tail, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2,
        float gamma, Kernels kernels)
    {
        if (kernels == Kernels.Reference) return Reference.GateNu(cat(new[] { head, tail.detach() }, 1), w1, b1, w2, b2, gamma);
        return GateNuFunction.apply(head.contiguous(), tail.detach().contiguous(), w1, b1!, w2, b2!, gamma)[0];
    }

    /// <summary>
    /// Dropout for every model layer, on both kernel paths (a shared training component, as the
    /// fused optimizer is): dynrec_dropout's counter-based mask, seeded by one draw from torch's
    /// default generator, so <c>manual_seed</c> fixes the masks and a resumed run draws what an
    /// uninterrupted one would. Identity when not training or p = 0; other dtypes fall back to
    /// torch's dropout.
    /// </summary>
    public static Tensor Dropout(Tensor x, double p, bool training)
    {
        if (!training || p == 0) return x;
        if (x.dtype != ScalarType.Float32 || x.device_type is not (DeviceType.CPU or DeviceType.CUDA))
            return F.dropout(x, p, training);
        var seed = unchecked((ulong)randint(long.MaxValue, new long[] { 1 }, dtype: ScalarType.Int64).item<long>());
        return DropoutFunction.apply(x.contiguous(), (float)p, seed)[0];
    }

    /// <summary>PPNet layer; see <see cref="Reference.GatedLinear"/>.</summary>
    public static Tensor GatedLinear(Tensor x, Tensor w, Tensor? b, Tensor delta, Activation activation,
        GatePosition position, Kernels kernels)
    {
        if (kernels == Kernels.Reference) return Reference.GatedLinear(x, w, b, delta, activation, position);
        // One tower of the tower-batched kernel.
        return GatedLinearFunction.apply(x.contiguous(), w.unsqueeze(0).contiguous(), b?.unsqueeze(0).contiguous()!,
            delta.contiguous(), activation, position)[0].squeeze(0);
    }

    /// <summary>T PPNet towers of one layer in one call; see <see cref="Reference.GatedLinearTowers"/>.</summary>
    public static Tensor GatedLinearTowers(Tensor x, Tensor w, Tensor? b, Tensor delta, Activation activation,
        GatePosition position, Kernels kernels)
    {
        if (kernels == Kernels.Reference) return Reference.GatedLinearTowers(x, w, b, delta, activation, position);
        return GatedLinearFunction.apply(x.contiguous(), w.contiguous(), b?.contiguous()!, delta.contiguous(), activation,
            position)[0];
    }

    /// <summary>EPNet: O = delta ⊙ E, delta = gate_nu(concat(domain, sg(E))).</summary>
    public static Tensor EpNet(Tensor domain, Tensor emb, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2, float gamma,
        Kernels kernels)
    {
        if (kernels == Kernels.Reference) return Reference.EpNet(domain, emb, w1, b1, w2, b2, gamma);
        return EpNetFunction.apply(domain.contiguous(), emb.contiguous(), w1, b1!, w2, b2!, gamma)[0];
    }

    /// <summary>
    /// hyper_linear; see <see cref="Reference.HyperLinear"/>. z may have fewer rows than x:
    /// x [N, n_in], z [N / R, n_cond], each condition row serving R consecutive rows of x.
    /// </summary>
    public static Tensor HyperLinear(Tensor x, Tensor z, Tensor g, Tensor? gBias, Tensor gb, Tensor? gbBias,
        Activation activation, Kernels kernels)
    {
        if (kernels == Kernels.Reference) return Reference.HyperLinear(x, z, g, gBias, gb, gbBias, activation);
        return HyperLinearFunction.apply(x.contiguous(), z.contiguous(), g, gBias!, gb, gbBias!, activation)[0];
    }

    /// <summary>FunRec's APGLayer chain; see <see cref="Reference.ApgLayer"/>.</summary>
    public static Tensor ApgLayer(Tensor x, Tensor z, ApgLayerWeights weights, ApgLayerSpec spec, Kernels kernels)
    {
        if (kernels == Kernels.Reference) return Reference.ApgLayer(x, z, weights, spec);
        // A spec built from K and P directly (no mf_k) cannot be described to
        // the fused kernel: run the chain with native hyper_linear steps.
        if (spec.MfK <= 0) return ApgLayerComposed(x, z, weights, spec, kernels);
        var args = new object[] { x.contiguous(), z.contiguous() }
            .Concat(ApgLayerFunction.SlotsOf(weights, spec.Mode).Select(t => (object)t!))
            .Append(spec).ToArray();
        return ApgLayerFunction.apply(args)[0];
    }

    // The APG chain from dense steps and HyperLinear (native or reference).
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
