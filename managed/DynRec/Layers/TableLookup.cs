using DynRec.Interop;
using DynRec.Ops;
using DynRec.Optim;
using static TorchSharp.torch;

namespace DynRec.Layers;

/// <summary>
/// Looks fields up in embedding tables that are separate tensors (one per
/// table of the <see cref="TableBatchLayout"/>, e.g. one nn.Embedding weight
/// per field) with ONE native call (dynrec_tbe_tables_forward) instead of one
/// lookup per field, and gives every table its plain dense gradient with one
/// more (dynrec_tbe_tables_backward, into views of one zero-filled buffer).
/// Id 0 reads as zeros and gets no gradient (nn.Embedding with padding_idx 0,
/// whose padding row is zero); an id outside its table is an ArgumentException
/// naming the field.
/// </summary>
internal sealed class TableLookup(TableBatchLayout layout) : IDisposable
{
    private Tensor? _workspace;

    public TableBatchLayout Layout { get; } = layout;

    /// <summary>ids int64 [batch, S] -> [batch, W]; through autograd when a table requires grad and grad mode is on.</summary>
    public Tensor Forward(Tensor ids, IReadOnlyList<Tensor> tables)
    {
        if (tables.Count != Layout.TableCount)
            throw new ArgumentException($"expected {Layout.TableCount} tables, got {tables.Count}", nameof(tables));
        if (ids.dim() != 2 || ids.shape[1] != Layout.Slots || ids.dtype != ScalarType.Int64)
            throw new ArgumentException($"ids: expected int64 [batch, {Layout.Slots}], got {ids.dtype} [{string.Join(", ", ids.shape)}]", nameof(ids));
        ids = ids.contiguous();
        if (!is_grad_enabled() || !tables.Any(t => t.requires_grad)) return NativeForward(ids, tables);
        return TableLookupFunction.apply([ids, this, .. tables])[0];
    }

    internal unsafe Tensor NativeForward(Tensor ids, IReadOnlyList<Tensor> tables)
    {
        var device = TensorPointers.CommonDevice([ids, .. tables]);
        var batch = ids.shape[0];
        var output = empty(batch, Layout.OutputWidth, device: ids.device);
        var pointers = new IntPtr[tables.Count];
        for (var t = 0; t < tables.Count; t++)
        {
            CheckShape(tables[t], t);
            pointers[t] = (IntPtr)TensorPointers.Ptr(tables[t], $"table {t}");
        }
        var bytes = Layout.WorkspaceBytes(device, batch);
        var ws = NativeTensorData.Workspace(ref _workspace, bytes, ids.device);
        try
        {
            fixed (long* rows = Layout.TableRows, dims = Layout.TableDims, ft = Layout.FieldTable, bags = Layout.BagSizes)
            fixed (int* pool = Layout.Pooling)
            fixed (IntPtr* tp = pointers)
                Native.Check(Methods.TbeTablesForward(device, null, Layout.TableCount, rows, dims, (float**)tp,
                    Layout.FieldCount, ft, bags, pool, batch, NativeTensorData.Int64Ptr(ids, "ids"),
                    TensorPointers.Ptr(output, "out"), ws is null ? null : TensorPointers.Ptr(ws, "workspace"), bytes));
        }
        catch (DynRecArgumentException e)
        {
            throw Layout.NamedIdError(e);
        }
        return output;
    }

    /// <summary>Every table's dense gradient: views of one zero-filled buffer, touched rows added by the native op.</summary>
    internal unsafe Tensor[] NativeBackward(Tensor ids, Tensor gradOut)
    {
        var device = TensorPointers.CommonDevice(ids, gradOut);
        var batch = ids.shape[0];
        var grads = ZeroGradients(gradOut.device);
        var pointers = new IntPtr[grads.Length];
        for (var t = 0; t < grads.Length; t++) pointers[t] = (IntPtr)TensorPointers.Ptr(grads[t], $"grad of table {t}");
        var bytes = Layout.WorkspaceBytes(device, batch);
        var ws = NativeTensorData.Workspace(ref _workspace, bytes, ids.device);
        fixed (long* rows = Layout.TableRows, dims = Layout.TableDims, ft = Layout.FieldTable, bags = Layout.BagSizes)
        fixed (int* pool = Layout.Pooling)
        fixed (IntPtr* gp = pointers)
            Native.Check(Methods.TbeTablesBackward(device, null, Layout.TableCount, rows, dims, Layout.FieldCount, ft,
                bags, pool, batch, NativeTensorData.Int64Ptr(ids, "ids"), TensorPointers.Ptr(gradOut, "grad_out"),
                (float**)gp, ws is null ? null : TensorPointers.Ptr(ws, "workspace"), bytes));
        return grads;
    }

    // Views of one zero-filled buffer, [rows, dim] each. Tables of one width (FeatureEmbeddings') come from a
    // single split of the [total rows, dim] buffer: one LibTorch call instead of two per table, which at small
    // batches is most of the backward's cost.
    private Tensor[] ZeroGradients(TorchSharp.torch.Device device)
    {
        var dims = Layout.TableDims;
        if (dims.All(d => d == dims[0]))
        {
            using var all = zeros([Layout.TotalRows, dims[0]], device: device);
            return all.split(Layout.TableRows, 0);
        }
        using var flat = zeros(Layout.TotalElements, device: device);
        return Enumerable.Range(0, Layout.TableCount)
            .Select(t => flat.narrow(0, Layout.TableOffsets[t], Layout.TableRows[t] * dims[t]).view(Layout.TableRows[t], dims[t]))
            .ToArray();
    }

    private void CheckShape(Tensor table, int t)
    {
        var shape = table.shape;  // one native call
        if (shape.Length != 2 || shape[0] != Layout.TableRows[t] || shape[1] != Layout.TableDims[t])
            throw new ArgumentException($"table {t}: expected [{Layout.TableRows[t]}, {Layout.TableDims[t]}], got [{string.Join(", ", shape)}]");
    }

    public void Dispose() => _workspace?.Dispose();
}
