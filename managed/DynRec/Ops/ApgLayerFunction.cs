using DynRec.Interop;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace DynRec.Ops;

/// <summary>
/// The fused apg_layer over the native kernels. Inputs: x, z, then the 20
/// parameter slots of dynrec_apg_layer_forward in its order (w_in, b_in, w_pk,
/// b_pk, kk_gw, kk_gb, kk_cw, kk_cb, w_kp, b_kp, w_out, b_out, nk_gw, nk_gb,
/// nk_cw, nk_cb, km_gw, km_gb, km_cw, km_cb; null where the mode has none),
/// then the <see cref="ApgLayerSpec"/>. The inner steps' outputs and y are
/// saved for backward.
/// </summary>
internal sealed class ApgLayerFunction : MultiTensorFunction<ApgLayerFunction>
{
    private const int Slots = 20;

    public override string Name => "DynRecApgLayer";

    /// <summary>The parameter slots of the native call for the weights of a mode.</summary>
    public static Tensor?[] SlotsOf(ApgLayerWeights w, ApgMode mode)
    {
        var s = new Tensor?[Slots];
        void Dense(int at, DenseWeights? d) { if (d is null) return; s[at] = d.Weight; s[at + 1] = d.Bias; }
        void Gen(int at, GeneratedWeights? g) { if (g is null) return; s[at] = g.G; s[at + 1] = g.GBias; s[at + 2] = g.Gb; s[at + 3] = g.GbBias; }
        Gen(4, w.Kk);
        switch (mode)
        {
            case ApgMode.UvSharedMfP: Dense(0, w.Np); Dense(2, w.Pk); Dense(8, w.Kp); Dense(10, w.Pm); break;
            case ApgMode.UvShared: Dense(0, w.Nk); Dense(10, w.Km); break;
            default: Gen(12, w.NkGen); Gen(16, w.KmGen); break;
        }
        return s;
    }

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var z = (Tensor)vars[1];
        var p = Enumerable.Range(0, Slots).Select(i => (Tensor?)vars[2 + i]).ToArray();
        var spec = (ApgLayerSpec)vars[2 + Slots];
        var device = TensorPointers.CommonDevice(p.Prepend(z).Prepend(x).ToArray());
        long batch = x.shape[0], nCond = z.shape[1];
        int uv = spec.Mode == ApgMode.Specific ? 0 : 1;
        long savedCount;
        unsafe
        {
            Native.Check(Methods.ApgLayerSavedSize(batch, spec.NIn, spec.NOut, uv, spec.MfK, spec.MfP, &savedCount));
        }
        var saved = empty(Math.Max(savedCount, 1), device: x.device);
        var y = empty(batch, spec.NOut, device: x.device);
        // On CUDA the generated steps' GEMMs split their reduction through scratch when the batch is small.
        using var workspace = Workspace(device, batch, nCond, uv, spec, x.device, out var wsBytes);
        unsafe
        {
            float* P(int i) => TensorPointers.PtrOrNull(p[i], SlotName(i));
            Native.Check(Methods.ApgLayerForward(device, null, batch, spec.NIn, spec.NOut, nCond, uv, spec.MfK, spec.MfP,
                (int)spec.InnerActivation, (int)spec.OutputActivation,
                TensorPointers.Ptr(x, "x"), TensorPointers.Ptr(z, "z"),
                P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7), P(8), P(9), P(10), P(11),
                P(12), P(13), P(14), P(15), P(16), P(17), P(18), P(19),
                TensorPointers.Ptr(saved, "saved"), TensorPointers.Ptr(y, "y"),
                workspace is null ? null : TensorPointers.Ptr(workspace, "workspace"), wsBytes));
        }
        // Saved: x, z, saved, y, then every present slot (the mask records which).
        var present = p.Select(t => t is not null).ToArray();
        ctx.save_for_backward(new List<Tensor> { x, z, saved, y }.Concat(p.Where(t => t is not null)!).ToList()!);
        ctx.save_data("present", present);
        ctx.save_data("spec", spec);
        return new List<Tensor> { y };
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grads)
    {
        using var scope = BackwardScope.Begin(grads);
        var savedVars = ctx.get_saved_variables();
        var (x, z, saved, y) = (savedVars[0], savedVars[1], savedVars[2], savedVars[3]);
        var present = (bool[])ctx.get_data("present");
        var spec = (ApgLayerSpec)ctx.get_data("spec");
        var p = new Tensor?[Slots];
        for (int i = 0, next = 4; i < Slots; i++) if (present[i]) p[i] = savedVars[next++];
        var gradY = grads[0].contiguous();
        long batch = x.shape[0], nCond = z.shape[1];
        int uv = spec.Mode == ApgMode.Specific ? 0 : 1;
        var device = TensorPointers.CommonDevice(x, gradY);
        var gx = x.requires_grad ? empty_like(x) : null;
        var gz = z.requires_grad ? empty_like(z) : null;
        var g = p.Select(t => t is null ? null : empty_like(t)).ToArray();
        using var workspace = Workspace(device, batch, nCond, uv, spec, x.device, out var wsBytes);
        unsafe
        {
            float* P(int i) => TensorPointers.PtrOrNull(p[i], SlotName(i));
            float* G(int i) => TensorPointers.PtrOrNull(g[i], "grad_" + SlotName(i));
            Native.Check(Methods.ApgLayerBackward(device, null, batch, spec.NIn, spec.NOut, nCond, uv, spec.MfK, spec.MfP,
                (int)spec.InnerActivation, (int)spec.OutputActivation,
                TensorPointers.Ptr(x, "x"), TensorPointers.Ptr(z, "z"),
                P(0), P(2), P(4), P(5), P(6), P(8), P(10), P(12), P(13), P(14), P(16), P(17), P(18),
                TensorPointers.Ptr(saved, "saved"), TensorPointers.Ptr(y, "y"), TensorPointers.Ptr(gradY, "grad_y"),
                TensorPointers.PtrOrNull(gx, "grad_x"), TensorPointers.PtrOrNull(gz, "grad_z"),
                G(0), G(1), G(2), G(3), G(4), G(5), G(6), G(7), G(8), G(9), G(10), G(11),
                G(12), G(13), G(14), G(15), G(16), G(17), G(18), G(19),
                workspace is null ? null : TensorPointers.Ptr(workspace, "workspace"), wsBytes));
        }
        // One slot per forward input: x, z, the 20 parameter slots, the spec.
        return scope.HandOff(new[] { gx, gz }.Concat(g).Append(null).ToArray());
    }

    /// <summary>The layer's scratch (forward and backward take the same size); null when it needs none (CPU).</summary>
    private static unsafe Tensor? Workspace(int device, long batch, long nCond, int uv, ApgLayerSpec spec, TorchSharp.torch.Device on,
        out long bytes)
    {
        long b;
        Native.Check(Methods.ApgLayerWorkspaceSize(device, batch, spec.NIn, spec.NOut, nCond, uv, spec.MfK, spec.MfP, &b));
        bytes = b;
        return b > 0 ? empty((b + 3) / 4, device: on) : null;
    }

    private static string SlotName(int i) => i switch
    {
        0 => "w_in", 1 => "b_in", 2 => "w_pk", 3 => "b_pk", 4 => "kk_gw", 5 => "kk_gb", 6 => "kk_cw", 7 => "kk_cb",
        8 => "w_kp", 9 => "b_kp", 10 => "w_out", 11 => "b_out", 12 => "nk_gw", 13 => "nk_gb", 14 => "nk_cw",
        15 => "nk_cb", 16 => "km_gw", 17 => "km_gb", 18 => "km_cw", _ => "km_cb",
    };
}
