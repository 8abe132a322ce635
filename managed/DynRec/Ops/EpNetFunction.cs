using DynRec.Interop;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace DynRec.Ops;

/// <summary>
/// The fused epnet over the native kernels: inputs (domain, emb, w1, b1?, w2,
/// b2?, gamma) -> delta ⊙ emb, delta = gate_nu(concat(domain, sg(emb))).
/// The gate's hidden layer and delta are saved for backward.
/// </summary>
internal sealed class EpNetFunction : MultiTensorFunction<EpNetFunction>
{
    public override string Name => "DynRecEpNet";

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var (domain, emb, w1, b1, w2, b2, gamma) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor?)vars[3],
            (Tensor)vars[4], (Tensor?)vars[5], (float)vars[6]);
        var device = TensorPointers.CommonDevice(domain, emb, w1, b1, w2, b2);
        long batch = emb.shape[0], nDomain = domain.shape[1], nEmb = emb.shape[1], nHidden = w1.shape[0];
        var hidden = empty(batch, nHidden, device: emb.device);
        var delta = empty(batch, nEmb, device: emb.device);
        var output = empty(batch, nEmb, device: emb.device);
        unsafe
        {
            Native.Check(Methods.EpnetForward(device, null, batch, nDomain, nEmb, nHidden,
                TensorPointers.Ptr(domain, "domain"), TensorPointers.Ptr(emb, "emb"), TensorPointers.Ptr(w1, "w1"),
                TensorPointers.PtrOrNull(b1, "b1"), TensorPointers.Ptr(w2, "w2"), TensorPointers.PtrOrNull(b2, "b2"), gamma,
                TensorPointers.Ptr(hidden, "hidden"), TensorPointers.Ptr(delta, "delta"), TensorPointers.Ptr(output, "out")));
        }
        ctx.save_for_backward(new List<Tensor> { domain, emb, w1, w2, hidden, delta });
        ctx.save_data("gamma", gamma);
        ctx.save_data("has_b1", b1 is not null);
        ctx.save_data("has_b2", b2 is not null);
        return new List<Tensor> { output };
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grads)
    {
        using var scope = BackwardScope.Begin(grads);
        var saved = ctx.get_saved_variables();
        var (domain, emb, w1, w2, hidden, delta) = (saved[0], saved[1], saved[2], saved[3], saved[4], saved[5]);
        var gamma = (float)ctx.get_data("gamma");
        var gradOut = grads[0].contiguous();
        long batch = emb.shape[0], nDomain = domain.shape[1], nEmb = emb.shape[1], nHidden = w1.shape[0];
        var device = TensorPointers.CommonDevice(emb, gradOut);
        var gDomain = domain.requires_grad ? empty_like(domain) : null;
        var gEmb = emb.requires_grad ? empty_like(emb) : null;
        var gw1 = empty_like(w1);
        var gb1 = (bool)ctx.get_data("has_b1") ? empty(nHidden, device: emb.device) : null;
        var gw2 = empty_like(w2);
        var gb2 = (bool)ctx.get_data("has_b2") ? empty(nEmb, device: emb.device) : null;
        long wsBytes;
        unsafe
        {
            Native.Check(Methods.EpnetWorkspaceSize(device, batch, nDomain, nEmb, nHidden, &wsBytes));
        }
        using var workspace = wsBytes > 0 ? empty((wsBytes + 3) / 4, device: emb.device) : null;
        unsafe
        {
            Native.Check(Methods.EpnetBackward(device, null, batch, nDomain, nEmb, nHidden,
                TensorPointers.Ptr(domain, "domain"), TensorPointers.Ptr(emb, "emb"), TensorPointers.Ptr(w1, "w1"),
                TensorPointers.Ptr(w2, "w2"), gamma, TensorPointers.Ptr(hidden, "hidden"), TensorPointers.Ptr(delta, "delta"),
                TensorPointers.Ptr(gradOut, "grad_out"), TensorPointers.PtrOrNull(gDomain, "grad_domain"),
                TensorPointers.PtrOrNull(gEmb, "grad_emb"), TensorPointers.Ptr(gw1, "grad_w1"),
                TensorPointers.PtrOrNull(gb1, "grad_b1"), TensorPointers.Ptr(gw2, "grad_w2"),
                TensorPointers.PtrOrNull(gb2, "grad_b2"),
                workspace is null ? null : TensorPointers.Ptr(workspace, "workspace"), wsBytes));
        }
        // One slot per forward input: domain, emb, w1, b1, w2, b2, gamma (not a tensor).
        return scope.HandOff(gDomain, gEmb, gw1, gb1, gw2, gb2, null);
    }
}
