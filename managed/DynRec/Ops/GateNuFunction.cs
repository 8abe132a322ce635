using DynRec.Interop;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace DynRec.Ops;

/// <summary>
/// gate_nu as a TorchSharp autograd function over the native kernels:
/// inputs (head, tail?, w1, b1?, w2, b2?, gamma) -> delta, over
/// x = concat(head, tail) where tail (optional) is stop-gradient: no gradient
/// flows into it and the native backward never forms its columns (PEPNet's
/// gates read concat(persona, sg(input))). The ReLU hidden layer is kept
/// from forward for backward.
/// </summary>
internal sealed class GateNuFunction : MultiTensorFunction<GateNuFunction>
{
    public override string Name => "DynRecGateNu";

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var (head, tail, w1, b1, w2, b2, gamma) = ((Tensor)vars[0], (Tensor?)vars[1], (Tensor)vars[2],
            (Tensor?)vars[3], (Tensor)vars[4], (Tensor?)vars[5], (float)vars[6]);
        var x = tail is null ? head : cat(new[] { head, tail }, 1);
        var device = TensorPointers.CommonDevice(x, w1, b1, w2, b2);
        long batch = x.shape[0], nIn = x.shape[1], nHidden = w1.shape[0], nOut = w2.shape[0];
        var hidden = empty(batch, nHidden, device: x.device);
        var delta = empty(batch, nOut, device: x.device);
        unsafe
        {
            Native.Check(Methods.GateNuForward(device, null, batch, nIn, nHidden, nOut,
                TensorPointers.Ptr(x, "x"), TensorPointers.Ptr(w1, "w1"), TensorPointers.PtrOrNull(b1, "b1"),
                TensorPointers.Ptr(w2, "w2"), TensorPointers.PtrOrNull(b2, "b2"), gamma,
                TensorPointers.Ptr(hidden, "hidden"), TensorPointers.Ptr(delta, "delta")));
        }
        ctx.save_for_backward(new List<Tensor> { x, w1, w2, hidden, delta });
        ctx.save_data("gamma", gamma);
        ctx.save_data("n_in_grad", head.shape[1]);
        ctx.save_data("head_requires_grad", head.requires_grad);
        ctx.save_data("has_b1", b1 is not null);
        ctx.save_data("has_b2", b2 is not null);
        return new List<Tensor> { delta };
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grads)
    {
        using var scope = BackwardScope.Begin(grads);
        var saved = ctx.get_saved_variables();
        var (x, w1, w2, hidden, delta) = (saved[0], saved[1], saved[2], saved[3], saved[4]);
        var gamma = (float)ctx.get_data("gamma");
        var nInGrad = (long)ctx.get_data("n_in_grad");
        var gradDelta = grads[0].contiguous();
        long batch = x.shape[0], nIn = x.shape[1], nHidden = w1.shape[0], nOut = w2.shape[0];
        var device = TensorPointers.CommonDevice(x, gradDelta);

        var gHead = (bool)ctx.get_data("head_requires_grad") ? empty(batch, nInGrad, device: x.device) : null;
        var gw1 = empty_like(w1);
        var gb1 = (bool)ctx.get_data("has_b1") ? empty(nHidden, device: x.device) : null;
        var gw2 = empty_like(w2);
        var gb2 = (bool)ctx.get_data("has_b2") ? empty(nOut, device: x.device) : null;
        long wsBytes;
        unsafe
        {
            Native.Check(Methods.GateNuWorkspaceSize(device, batch, nIn, nHidden, nOut, &wsBytes));
        }
        using var workspace = wsBytes > 0 ? empty((wsBytes + 3) / 4, device: x.device) : null;
        unsafe
        {
            Native.Check(Methods.GateNuBackward(device, null, batch, nIn, nHidden, nOut,
                TensorPointers.Ptr(x, "x"), TensorPointers.Ptr(w1, "w1"), TensorPointers.Ptr(w2, "w2"), gamma,
                TensorPointers.Ptr(hidden, "hidden"), TensorPointers.Ptr(delta, "delta"),
                TensorPointers.Ptr(gradDelta, "grad_delta"), nInGrad, TensorPointers.PtrOrNull(gHead, "grad_x"),
                TensorPointers.Ptr(gw1, "grad_w1"), TensorPointers.PtrOrNull(gb1, "grad_b1"),
                TensorPointers.Ptr(gw2, "grad_w2"), TensorPointers.PtrOrNull(gb2, "grad_b2"),
                workspace is null ? null : TensorPointers.Ptr(workspace, "workspace"), wsBytes));
        }
        // One slot per forward input: head, tail (stop-gradient), w1, b1, w2, b2, gamma (not a tensor).
        return scope.HandOff(gHead, null, gw1, gb1, gw2, gb2, null);
    }
}
