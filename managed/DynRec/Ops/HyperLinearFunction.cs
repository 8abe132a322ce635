using DynRec.Interop;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace DynRec.Ops;

/// <summary>
/// hyper_linear over the native kernels: inputs (x, z, G, g?, Gb, gb?, activation)
/// -> y; z [N / R, n_cond] serves R consecutive rows of x [N, n_in] each.
/// Backward takes the activation's derivative from y, so y is saved.
/// </summary>
internal sealed class HyperLinearFunction : MultiTensorFunction<HyperLinearFunction>
{
    public override string Name => "DynRecHyperLinear";

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var (x, z, g, gBias, gb, gbBias, act) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor?)vars[3],
            (Tensor)vars[4], (Tensor?)vars[5], (Activation)vars[6]);
        var device = TensorPointers.CommonDevice(x, z, g, gBias, gb, gbBias);
        long batch = x.shape[0], nIn = x.shape[1], nOut = gb.shape[0], nCond = z.shape[1];
        var rows = Reference.RowsPerCondition(x, z);
        var y = empty(batch, nOut, device: x.device);
        // On CUDA the forward GEMM splits its reduction through scratch when the batch is small.
        using var workspace = Workspace(device, batch, nIn, nOut, nCond, rows, x.device, out var wsBytes);
        unsafe
        {
            Native.Check(Methods.HyperLinearForward(device, null, batch, nIn, nOut, nCond, rows,
                TensorPointers.Ptr(x, "x"), TensorPointers.Ptr(z, "z"), TensorPointers.Ptr(g, "g_w"),
                TensorPointers.PtrOrNull(gBias, "g_b"), TensorPointers.Ptr(gb, "c_w"),
                TensorPointers.PtrOrNull(gbBias, "c_b"), (int)act, TensorPointers.Ptr(y, "y"),
                workspace is null ? null : TensorPointers.Ptr(workspace, "workspace"), wsBytes));
        }
        var saved = new List<Tensor> { x, z, g, gb, y };
        if (gBias is not null) saved.Add(gBias);
        ctx.save_for_backward(saved);
        ctx.save_data("act", act);
        ctx.save_data("has_g_b", gBias is not null);
        ctx.save_data("has_c_b", gbBias is not null);
        return new List<Tensor> { y };
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grads)
    {
        using var scope = BackwardScope.Begin(grads);
        var saved = ctx.get_saved_variables();
        var (x, z, g, gb, y) = (saved[0], saved[1], saved[2], saved[3], saved[4]);
        var hasGBias = (bool)ctx.get_data("has_g_b");
        var gBias = hasGBias ? saved[5] : null;
        var act = (Activation)ctx.get_data("act");
        var gradY = grads[0].contiguous();
        long batch = x.shape[0], nIn = x.shape[1], nOut = gb.shape[0], nCond = z.shape[1];
        var rows = Reference.RowsPerCondition(x, z);
        var device = TensorPointers.CommonDevice(x, gradY);
        var gx = x.requires_grad ? empty_like(x) : null;
        var gz = z.requires_grad ? empty_like(z) : null;
        var gg = empty_like(g);
        var ggBias = hasGBias ? empty(nIn * nOut, device: x.device) : null;
        var ggb = empty_like(gb);
        var ggbBias = (bool)ctx.get_data("has_c_b") ? empty(nOut, device: x.device) : null;
        using var workspace = Workspace(device, batch, nIn, nOut, nCond, rows, x.device, out var wsBytes);
        unsafe
        {
            Native.Check(Methods.HyperLinearBackward(device, null, batch, nIn, nOut, nCond, rows,
                TensorPointers.Ptr(x, "x"), TensorPointers.Ptr(z, "z"), TensorPointers.Ptr(g, "g_w"),
                TensorPointers.PtrOrNull(gBias, "g_b"), TensorPointers.Ptr(gb, "c_w"), (int)act,
                TensorPointers.Ptr(y, "y"), TensorPointers.Ptr(gradY, "grad_y"),
                TensorPointers.PtrOrNull(gx, "grad_x"), TensorPointers.PtrOrNull(gz, "grad_z"),
                TensorPointers.Ptr(gg, "grad_g_w"), TensorPointers.PtrOrNull(ggBias, "grad_g_b"),
                TensorPointers.Ptr(ggb, "grad_c_w"), TensorPointers.PtrOrNull(ggbBias, "grad_c_b"),
                workspace is null ? null : TensorPointers.Ptr(workspace, "workspace"), wsBytes));
        }
        // One slot per forward input: x, z, G, g, Gb, gb, activation (not a tensor).
        return scope.HandOff(gx, gz, gg, ggBias, ggb, ggbBias, null);
    }

    /// <summary>The op's scratch (forward and backward take the same size); null when it needs none (CPU).</summary>
    private static unsafe Tensor? Workspace(int device, long batch, long nIn, long nOut, long nCond, long rows,
        TorchSharp.torch.Device on, out long bytes)
    {
        long b;
        Native.Check(Methods.HyperLinearWorkspaceSize(device, batch, nIn, nOut, nCond, rows, &b));
        bytes = b;
        return b > 0 ? empty((b + 3) / 4, device: on) : null;
    }
}
