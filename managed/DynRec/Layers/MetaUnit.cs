using DynRec.Interop;
using DynRec.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Layers;

/// <summary>
/// M2M's meta unit, as FunRec's MetaUnit: `depth` square hyper_linear steps
/// (dim -> dim) conditioned on the scenario representation, each followed by
/// the activation and dropout. Parameters: layers.{j}.weight_gen.*, layers.{j}.bias_gen.*.
/// Inputs may carry extra rows per sample ([B, R, dim]); they share the sample's
/// condition row (hyper_linear's rows per condition: the native op generates
/// each sample's weights once for its R rows).
/// </summary>
public sealed class MetaUnit : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly ModuleList<GeneratedLinear> layers;

    public MetaUnit(long dim, long condFeatures, int depth, Activation activation, double dropout,
        Kernels kernels = Kernels.Native) : base(nameof(MetaUnit))
    {
        if (depth <= 0) throw new ArgumentOutOfRangeException(nameof(depth), $"meta_unit_depth must be > 0, got {depth}");
        layers = new ModuleList<GeneratedLinear>();
        for (var j = 0; j < depth; j++) layers.Add(new GeneratedLinear(dim, dim, condFeatures, activation, kernels));
        Dim = dim;
        Dropout = dropout;
        RegisterComponents();
    }

    public long Dim { get; }
    public double Dropout { get; }

    /// <summary>x [B, dim] or [B, R, dim], condition [B, n_cond] -> same shape as x.</summary>
    public override Tensor forward(Tensor x, Tensor condition)
    {
        var shape = x.shape;
        var flat = x.reshape(-1, Dim);
        foreach (var layer in layers)
        {
            flat = layer.forward(flat, condition);
            if (Dropout > 0) flat = Functional.Dropout(flat, Dropout, training);
        }
        return flat.reshape(shape);
    }
}
