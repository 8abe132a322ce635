using DynRec.Ops;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace DynRec.Layers;

/// <summary>
/// <see cref="TableLookup"/> as an autograd function: inputs (ids, lookup, table 0, table 1, ...) -> [B, W];
/// backward returns each table's dense gradient (none for ids and the lookup).
/// </summary>
internal sealed class TableLookupFunction : MultiTensorFunction<TableLookupFunction>
{
    public override string Name => "DynRecTableLookup";

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var (ids, lookup) = ((Tensor)vars[0], (TableLookup)vars[1]);
        var tables = vars.Skip(2).Cast<Tensor>().ToList();
        var output = lookup.NativeForward(ids, tables);
        ctx.save_for_backward([ids]);
        ctx.save_data("lookup", lookup);
        return [output];
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grads)
    {
        using var scope = BackwardScope.Begin(grads);
        var ids = ctx.get_saved_variables()[0];
        var lookup = (TableLookup)ctx.get_data("lookup");
        var tableGrads = lookup.NativeBackward(ids, grads[0].contiguous());
        return scope.HandOff([null, null, .. tableGrads]);
    }
}
