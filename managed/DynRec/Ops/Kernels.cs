namespace DynRec.Ops;

/// <summary>
/// Which implementation a layer or a whole model runs: the fused native
/// kernels (libdynrec, CPU or CUDA after the tensors' device) or the
/// pure-TorchSharp reference composed from LibTorch ops. Both must agree.
/// </summary>
public enum Kernels
{
    Native,
    Reference,
}
