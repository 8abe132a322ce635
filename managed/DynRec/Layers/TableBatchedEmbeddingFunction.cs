using DynRec.Interop;
using DynRec.Ops;
using DynRec.Optim;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace DynRec.Layers;

/// <summary>
/// The fused TBE as an autograd function: inputs (ids, weights, module) -> [B, W].
/// forward gathers through dynrec_tbe_forward; backward runs
/// dynrec_tbe_backward_update, which applies the module's sparse optimizer to
/// the touched rows in place, and returns NO gradient for the weights.
/// </summary>
internal sealed class TableBatchedEmbeddingFunction : MultiTensorFunction<TableBatchedEmbeddingFunction>
{
    public override string Name => "DynRecTableBatchedEmbedding";

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var (ids, weights, module) = ((Tensor)vars[0], (Tensor)vars[1], (TableBatchedEmbedding)vars[2]);
        var output = module.NativeForward(ids, weights);
        ctx.save_for_backward(new List<Tensor> { ids });
        ctx.save_data("module", module);
        return new List<Tensor> { output };
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grads)
    {
        using var scope = BackwardScope.Begin(grads);
        var ids = ctx.get_saved_variables()[0];
        var module = (TableBatchedEmbedding)ctx.get_data("module");
        module.NativeBackwardUpdate(ids, grads[0].contiguous());
        // ids: no grad; weights: updated in place instead of a dense gradient; module: not a tensor.
        return scope.HandOff(null, null, null);
    }
}
