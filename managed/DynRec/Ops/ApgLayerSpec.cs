using DynRec.Interop;
using static TorchSharp.torch;

namespace DynRec.Ops;

/// <summary>Which FunRec APGLayer chain runs (see <see cref="Reference.ApgLayer"/>).</summary>
public enum ApgMode
{
    /// <summary>Shared U/V with the P path: NP -> PK -> KK(generated) -> KP -> PM.</summary>
    UvSharedMfP,
    /// <summary>Shared U/V without the P path: NK -> KK(generated) -> KM.</summary>
    UvShared,
    /// <summary>Not shared: NK, KK and KM are all generated from the condition.</summary>
    Specific,
}

/// <summary>A dense step x W^T + b (torch.nn.Linear layout: W is [out, in]).</summary>
public sealed record DenseWeights(Tensor Weight, Tensor? Bias);

/// <summary>
/// A generated step (hyper_linear): S = reshape(z G^T + g, [n_in, n_out]),
/// c = z Gb^T + gb, y = x S + c.
/// </summary>
public sealed record GeneratedWeights(Tensor G, Tensor? GBias, Tensor Gb, Tensor? GbBias);

/// <summary>
/// The weights of one apg_layer. Which members are set depends on the mode:
/// UvSharedMfP: Np, Pk, Kk, Kp, Pm; UvShared: Nk, Kk, Km; Specific: NkGen, Kk, KmGen.
/// </summary>
public sealed record ApgLayerWeights
{
    public DenseWeights? Np { get; init; }
    public DenseWeights? Pk { get; init; }
    public DenseWeights? Kp { get; init; }
    public DenseWeights? Pm { get; init; }
    public DenseWeights? Nk { get; init; }
    public DenseWeights? Km { get; init; }
    public required GeneratedWeights Kk { get; init; }
    public GeneratedWeights? NkGen { get; init; }
    public GeneratedWeights? KmGen { get; init; }
}

/// <summary>Shape and activations of one apg_layer.</summary>
public sealed record ApgLayerSpec(ApgMode Mode, long NIn, long NOut, long K, long P,
    Activation InnerActivation, Activation OutputActivation)
{
    /// <summary>The split factors K and P came from (0 when the spec was built from K and P directly).</summary>
    public int MfK { get; init; }
    public int MfP { get; init; }

    /// <summary>k = ceil(min(n, m) / mf_k), p = ceil(min(n, m) / mf_p), as FunRec's APGLayer.</summary>
    public static ApgLayerSpec Create(ApgMode mode, long nIn, long nOut, int mfK, int mfP,
        Activation inner = Activation.None, Activation output = Activation.Relu)
    {
        if (mfK <= 0) throw new ArgumentOutOfRangeException(nameof(mfK), $"mf_k must be > 0, got {mfK}");
        if (mode == ApgMode.UvSharedMfP && mfP <= 0)
            throw new ArgumentOutOfRangeException(nameof(mfP), $"mf_p must be > 0, got {mfP}");
        var min = Math.Min(nIn, nOut);
        long k = (min + mfK - 1) / mfK;
        long p = mode == ApgMode.UvSharedMfP ? (min + mfP - 1) / mfP : 0;
        return new ApgLayerSpec(mode, nIn, nOut, k, p, inner, output) { MfK = mfK, MfP = mode == ApgMode.UvSharedMfP ? mfP : 0 };
    }
}
