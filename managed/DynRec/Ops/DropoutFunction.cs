using DynRec.Interop;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace DynRec.Ops;

/// <summary>
/// Dropout over dynrec_dropout: (x, p, seed) -> x * mask / (1 - p) with the mask a
/// pure function of (seed, element), so backward is the same call on the gradient
/// and nothing but the seed is kept between them.
/// </summary>
internal sealed class DropoutFunction : MultiTensorFunction<DropoutFunction>
{
    public override string Name => "DynRecDropout";

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var (x, p, seed) = ((Tensor)vars[0], (float)vars[1], (ulong)vars[2]);
        var y = Apply(x, p, seed);
        ctx.save_data("p", p);
        ctx.save_data("seed", seed);
        return new List<Tensor> { y };
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grads)
    {
        using var scope = BackwardScope.Begin(grads);
        var grad = Apply(grads[0].contiguous(), (float)ctx.get_data("p"), (ulong)ctx.get_data("seed"));
        // One slot per forward input: x, p and seed (not tensors).
        return scope.HandOff(grad, null, null);
    }

    private static unsafe Tensor Apply(Tensor x, float p, ulong seed)
    {
        var y = empty_like(x);
        var device = TensorPointers.CommonDevice(x);
        Native.Check(Methods.Dropout(device, null, x.numel(), p, seed, TensorPointers.Ptr(x, "in"),
            TensorPointers.Ptr(y, "out")));
        return y;
    }
}
