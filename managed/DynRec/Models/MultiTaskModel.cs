using DynRec.Data;
using DynRec.Layers;
using DynRec.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Models;

/// <summary>
/// Base of every model: maps a <see cref="Batch"/> to logits [B, T] (one per
/// task, in schema order). <see cref="Kernels"/> switches the whole model
/// between the native kernels and the pure-TorchSharp reference path.
/// </summary>
public abstract class MultiTaskModel : nn.Module<Batch, Tensor>
{
    protected MultiTaskModel(string name, FeatureSchema schema) : base(name) => Schema = schema;

    public FeatureSchema Schema { get; }

    /// <summary>The registry name (pepnet, apg, m2m, dnn, shared_bottom, mmoe).</summary>
    public abstract string ModelName { get; }

    /// <summary>Setting it sets every <see cref="IKernelSwitch"/> layer of the model.</summary>
    public Kernels Kernels
    {
        get => _kernels;
        set
        {
            _kernels = value;
            foreach (var module in modules())
                if (module is IKernelSwitch layer) layer.Kernels = value;
        }
    }

    private Kernels _kernels = Kernels.Native;

    /// <summary>The options the model was built with (FunRec defaults overridden by the config).</summary>
    public abstract ModelOptions Options { get; }
}
