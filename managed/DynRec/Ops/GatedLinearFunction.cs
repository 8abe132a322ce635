using DynRec.Interop;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace DynRec.Ops;

/// <summary>
/// gated_linear (tower-batched) over the native kernels: inputs (x, w, b?,
/// delta, activation, position) -> y [T, B, out]. x is [B, in] (shared by the
/// towers) or [T, B, in]. act(x W^T + b) is saved for backward.
/// </summary>
internal sealed class GatedLinearFunction : MultiTensorFunction<GatedLinearFunction>
{
    public override string Name => "DynRecGatedLinear";

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var (x, w, b, delta, act, position) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor?)vars[2], (Tensor)vars[3],
            (Activation)vars[4], (GatePosition)vars[5]);
        var device = TensorPointers.CommonDevice(x, w, b, delta);
        long towers = w.shape[0], nOut = w.shape[1], nIn = w.shape[2];
        var shared = x.dim() == 2 ? 1 : 0;
        long batch = shared == 1 ? x.shape[0] : x.shape[1];
        var actOut = empty(towers, batch, nOut, device: x.device);
        var y = empty(towers, batch, nOut, device: x.device);
        var ws = Workspace(device, towers, batch, nIn, nOut, position, shared, x);
        unsafe
        {
            Native.Check(Methods.GatedLinearForward(device, null, towers, batch, nIn, nOut, (int)position, (int)act, shared,
                TensorPointers.Ptr(x, "x"), TensorPointers.Ptr(w, "w"), TensorPointers.PtrOrNull(b, "b"),
                TensorPointers.Ptr(delta, "delta"), TensorPointers.Ptr(actOut, "act_out"), TensorPointers.Ptr(y, "y"),
                ws.Tensor is null ? null : TensorPointers.Ptr(ws.Tensor, "workspace"), ws.Bytes));
        }
        ws.Tensor?.Dispose();
        ctx.save_for_backward(new List<Tensor> { x, w, delta, actOut });
        ctx.save_data("act", act);
        ctx.save_data("position", position);
        ctx.save_data("has_b", b is not null);
        return new List<Tensor> { y };
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grads)
    {
        using var scope = BackwardScope.Begin(grads);
        var saved = ctx.get_saved_variables();
        var (x, w, delta, actOut) = (saved[0], saved[1], saved[2], saved[3]);
        var act = (Activation)ctx.get_data("act");
        var position = (GatePosition)ctx.get_data("position");
        var gradY = grads[0].contiguous();
        long towers = w.shape[0], nOut = w.shape[1], nIn = w.shape[2];
        var shared = x.dim() == 2 ? 1 : 0;
        long batch = shared == 1 ? x.shape[0] : x.shape[1];
        var device = TensorPointers.CommonDevice(x, gradY);
        var gx = x.requires_grad ? empty_like(x) : null;
        var gw = empty_like(w);
        var gb = (bool)ctx.get_data("has_b") ? empty(towers, nOut, device: x.device) : null;
        var gdelta = delta.requires_grad ? empty_like(delta) : null;
        var ws = Workspace(device, towers, batch, nIn, nOut, position, shared, x);
        unsafe
        {
            Native.Check(Methods.GatedLinearBackward(device, null, towers, batch, nIn, nOut, (int)position, (int)act, shared,
                TensorPointers.Ptr(x, "x"), TensorPointers.Ptr(w, "w"), TensorPointers.Ptr(delta, "delta"),
                TensorPointers.Ptr(actOut, "act_out"), TensorPointers.Ptr(gradY, "grad_y"),
                TensorPointers.PtrOrNull(gx, "grad_x"), TensorPointers.Ptr(gw, "grad_w"), TensorPointers.PtrOrNull(gb, "grad_b"),
                TensorPointers.PtrOrNull(gdelta, "grad_delta"),
                ws.Tensor is null ? null : TensorPointers.Ptr(ws.Tensor, "workspace"), ws.Bytes));
        }
        ws.Tensor?.Dispose();
        // One slot per forward input: x, w, b, delta, activation, position.
        return scope.HandOff(gx, gw, gb, gdelta, null, null);
    }

    private static (Tensor? Tensor, long Bytes) Workspace(int device, long towers, long batch, long nIn, long nOut,
        GatePosition position, int shared, Tensor like)
    {
        long bytes;
        unsafe
        {
            Native.Check(Methods.GatedLinearWorkspaceSize(device, towers, batch, nIn, nOut, (int)position, shared, &bytes));
        }
        return (bytes > 0 ? empty((bytes + 3) / 4, device: like.device) : null, bytes);
    }
}
