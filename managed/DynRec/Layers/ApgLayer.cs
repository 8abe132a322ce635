using DynRec.Interop;
using DynRec.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Layers;

/// <summary>
/// FunRec's APGLayer as a module (apg_layer op). Parameters, torch layout
/// [out, in] (FunRec's TF weights transposed): uv_shared with mf_p:
/// shared_np, shared_pk, shared_kp, shared_pm (.weight/.bias); uv_shared
/// without mf_p: shared_nk, shared_km; not shared: specific_nk, specific_km;
/// always specific_kk (GeneratedLinear: weight_gen/bias_gen, FunRec's
/// specific_weight_kk / specific_bias_kk).
/// </summary>
public sealed class ApgLayer : nn.Module<Tensor, Tensor, Tensor>, IKernelSwitch
{
    private readonly Linear? shared_np, shared_pk, shared_kp, shared_pm, shared_nk, shared_km;
    private readonly GeneratedLinear specific_kk;
    private readonly GeneratedLinear? specific_nk, specific_km;

    public ApgLayer(ApgLayerSpec spec, long condFeatures, Kernels kernels = Kernels.Native) : base(nameof(ApgLayer))
    {
        Spec = spec;
        // FunRec initializes the shared U/V glorot-uniform with zero bias (Keras add_weight).
        switch (spec.Mode)
        {
            case ApgMode.UvSharedMfP:
                shared_np = GeneratedLinear.KerasDense(spec.NIn, spec.P);
                shared_pk = GeneratedLinear.KerasDense(spec.P, spec.K);
                shared_kp = GeneratedLinear.KerasDense(spec.K, spec.P);
                shared_pm = GeneratedLinear.KerasDense(spec.P, spec.NOut);
                break;
            case ApgMode.UvShared:
                shared_nk = GeneratedLinear.KerasDense(spec.NIn, spec.K);
                shared_km = GeneratedLinear.KerasDense(spec.K, spec.NOut);
                break;
            case ApgMode.Specific:
                specific_nk = new GeneratedLinear(spec.NIn, spec.K, condFeatures, kernels: kernels);
                specific_km = new GeneratedLinear(spec.K, spec.NOut, condFeatures, kernels: kernels);
                break;
        }
        specific_kk = new GeneratedLinear(spec.K, spec.K, condFeatures, kernels: kernels);
        Kernels = kernels;
        RegisterComponents();
    }

    public Kernels Kernels { get; set; }
    public ApgLayerSpec Spec { get; }

    public ApgLayerWeights Weights => new()
    {
        Np = Dense(shared_np), Pk = Dense(shared_pk), Kp = Dense(shared_kp), Pm = Dense(shared_pm),
        Nk = Dense(shared_nk), Km = Dense(shared_km),
        Kk = specific_kk.Weights, NkGen = specific_nk?.Weights, KmGen = specific_km?.Weights,
    };

    /// <summary>x [B, n_in], condition [B, n_cond] -> [B, n_out].</summary>
    public override Tensor forward(Tensor x, Tensor condition) =>
        Functional.ApgLayer(x, condition, Weights, Spec, Kernels);

    private static DenseWeights? Dense(Linear? layer) => layer is null ? null : new DenseWeights(layer.weight!, layer.bias);
}
