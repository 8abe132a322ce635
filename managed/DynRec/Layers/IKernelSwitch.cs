using DynRec.Ops;

namespace DynRec.Layers;

/// <summary>
/// A module that runs either the native kernels or the reference path.
/// <see cref="Models.MultiTaskModel.Kernels"/> sets it on every such module.
/// </summary>
public interface IKernelSwitch
{
    Kernels Kernels { get; set; }
}
