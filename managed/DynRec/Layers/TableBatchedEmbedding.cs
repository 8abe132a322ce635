using DynRec.Interop;
using DynRec.Ops;
using DynRec.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Layers;

/// <summary>
/// All categorical fields' embedding tables in ONE flat float32 parameter
/// (<c>weights</c>, tables back to back in field order; a field with
/// SharesTableWith reuses the named field's table), looked up with one native
/// gather. Input: int64 ids [B, S] (S = sum of bag sizes, fields in order, 0 =
/// padding); output: [B, W] with each field at its column offset
/// (<see cref="ColumnOffset"/>).
///
/// <para><b>Fused mode</b> (<see cref="Fused"/> = true, the default): the backward
/// does NOT produce a gradient for <c>weights</c>; it applies
/// <see cref="Optimizer"/> (SGD, row-wise Adagrad or lazy Adam) to the rows the
/// batch touched, in place, during <c>loss.backward()</c>. <c>weights.grad</c>
/// stays null, so a dense optimizer built over <c>parameters()</c> skips it.
/// The optimizer state lives in this module as buffers (saved with its
/// state_dict): <c>exp_avg</c>, <c>exp_avg_sq</c> (lazy Adam, laid out like
/// weights), <c>adagrad_sum</c> (one per global row), <c>row_steps</c> (lazy
/// Adam with PerRowSteps) and <c>step</c> (table-wide step count).</para>
///
/// <para><b>Non-fused mode</b> (<see cref="Fused"/> = false): the lookup is composed
/// from TorchSharp ops (index_select + masking + pooling) and <c>weights.grad</c>
/// receives the ordinary dense gradient; no update happens in backward. It is
/// the reference the fused path is tested against.</para>
///
/// Invalid ids (negative or &gt;= the field's vocabulary) throw
/// <see cref="ArgumentException"/> naming the field.
/// </summary>
public sealed class TableBatchedEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly TableBatchLayout _layout;
    private Tensor? _workspace;

    public TableBatchedEmbedding(IReadOnlyList<EmbeddingFieldConfig> fields, SparseOptimizerConfig optimizer,
        float initStd = 0.01f, string name = "TableBatchedEmbedding") : base(name)
    {
        _layout = new TableBatchLayout(fields);
        Optimizer = optimizer;
        var numel = _layout.TotalElements;
        var init = randn(numel) * initStd;
        for (var t = 0; t < _layout.TableCount; t++) init.narrow(0, _layout.TableOffsets[t], _layout.TableDims[t]).zero_();  // padding rows
        weights = nn.Parameter(init);
        var totalRows = _layout.TotalRows;
        exp_avg = zeros(optimizer.Kind == SparseOptimizerKind.LazyAdam ? numel : 0);
        exp_avg_sq = zeros(optimizer.Kind == SparseOptimizerKind.LazyAdam ? numel : 0);
        adagrad_sum = zeros(optimizer.Kind == SparseOptimizerKind.RowWiseAdagrad ? totalRows : 0);
        row_steps = zeros(optimizer.Kind == SparseOptimizerKind.LazyAdam && optimizer.PerRowSteps ? totalRows : 0,
            dtype: ScalarType.Int64);
        step = zeros(1, dtype: ScalarType.Int64);
        RegisterComponents();
    }

    // Registered by RegisterComponents under these names.
#pragma warning disable IDE1006
    private readonly Parameter weights;
    private readonly Tensor exp_avg, exp_avg_sq, adagrad_sum, row_steps, step;
#pragma warning restore IDE1006

    /// <summary>The flat parameter holding every table.</summary>
    public Parameter Weights => weights;
    public IReadOnlyList<EmbeddingFieldConfig> Fields => _layout.Fields;
    public SparseOptimizerConfig Optimizer { get; }
    /// <summary>true: sparse update fused into backward; false: dense gradient via TorchSharp ops.</summary>
    public bool Fused { get; set; } = true;
    /// <summary>W: output columns.</summary>
    public long OutputWidth => _layout.OutputWidth;
    /// <summary>S: id columns of the input.</summary>
    public long Slots => _layout.Slots;
    /// <summary>Table-wide sparse optimizer step count (lazy Adam bias correction).</summary>
    public long StepCount => step.item<long>();

    /// <summary>Column of field <paramref name="field"/>'s block in the output.</summary>
    public long ColumnOffset(string field) => _layout.ColumnOffset(_layout.FieldIndex(field));

    /// <summary>The [vocabulary, dim] table a field reads: a view into <see cref="Weights"/>.</summary>
    public Tensor Table(string field)
    {
        var t = _layout.TableOf(_layout.FieldIndex(field));
        var (rows, dim) = (_layout.TableRows[t], _layout.TableDims[t]);
        return weights.narrow(0, _layout.TableOffsets[t], rows * dim).view(rows, dim);
    }

    /// <summary>First global row of a field's table (index into adagrad_sum / row_steps).</summary>
    public long RowBase(string field)
    {
        var t = _layout.TableOf(_layout.FieldIndex(field));
        long b = 0;
        for (var u = 0; u < t; u++) b += _layout.TableRows[u];
        return b;
    }

    public Tensor ExpAvg => exp_avg;
    public Tensor ExpAvgSq => exp_avg_sq;
    public Tensor AdagradSum => adagrad_sum;
    public Tensor RowSteps => row_steps;

    public override Tensor forward(Tensor ids)
    {
        if (ids.dim() != 2 || ids.shape[1] != Slots)
            throw new ArgumentException($"ids: expected int64 [batch, {Slots}] (one column per id slot of every field), got [{string.Join(", ", ids.shape)}]", nameof(ids));
        if (ids.dtype != ScalarType.Int64) throw new ArgumentException($"ids: expected int64, got {ids.dtype}", nameof(ids));
        if (ids.device_type != weights.device_type || ids.device_index != weights.device_index) throw new ArgumentException($"ids on {ids.device}, tables on {weights.device}", nameof(ids));
        ids = ids.contiguous();
        if (!Fused) return ReferenceForward(ids);
        if (!weights.requires_grad || !is_grad_enabled()) return NativeForward(ids, weights);
        return TableBatchedEmbeddingFunction.apply(ids, weights, this)[0];
    }

    private Tensor ReferenceForward(Tensor ids)
    {
        CheckIdsManaged(ids);
        var batch = ids.shape[0];
        var parts = new List<Tensor>();
        long slot = 0;
        for (var f = 0; f < _layout.FieldCount; f++)
        {
            var t = _layout.TableOf(f);
            long bag = _layout.BagSizes[f], dim = _layout.TableDims[t], rows = _layout.TableRows[t];
            var table = weights.narrow(0, _layout.TableOffsets[t], rows * dim).view(rows, dim);
            var cols = ids.narrow(1, slot, bag);
            var mask = cols.ne(0).to(ScalarType.Float32).unsqueeze(-1);
            var emb = table.index_select(0, cols.reshape(-1)).view(batch, bag, dim) * mask;
            parts.Add(_layout.Fields[f].Pooling switch
            {
                EmbeddingPooling.Sum => emb.sum(1),
                EmbeddingPooling.Mean => emb.sum(1) / mask.sum(1).clamp_min(1.0),
                _ => emb.reshape(batch, bag * dim),
            });
            slot += bag;
        }
        return cat(parts, 1);
    }

    private void CheckIdsManaged(Tensor ids)
    {
        long slot = 0;
        for (var f = 0; f < _layout.FieldCount; f++)
        {
            var cols = ids.narrow(1, slot, _layout.BagSizes[f]);
            var rows = _layout.TableRows[_layout.TableOf(f)];
            if ((cols.lt(0) | cols.ge(rows)).any().item<bool>())
                throw new ArgumentException($"ids of field '{_layout.Fields[f].Name}' must be in [0, {rows}) (0 = padding); " +
                                            $"got values from {cols.min().item<long>()} to {cols.max().item<long>()}", nameof(ids));
            slot += _layout.BagSizes[f];
        }
    }

    internal unsafe Tensor NativeForward(Tensor ids, Tensor w)
    {
        var device = TensorPointers.CommonDevice(ids, w);
        var batch = ids.shape[0];
        var output = empty(batch, OutputWidth, device: w.device);
        var bytes = _layout.WorkspaceBytes(device, batch);
        var ws = NativeTensorData.Workspace(ref _workspace, bytes, w.device);
        try
        {
            fixed (long* rows = _layout.TableRows, dims = _layout.TableDims, offs = _layout.TableOffsets, ft = _layout.FieldTable, bags = _layout.BagSizes)
            fixed (int* pool = _layout.Pooling)
                Native.Check(Methods.TbeForward(device, null, _layout.TableCount, rows, dims, offs, _layout.FieldCount, ft,
                    bags, pool, TensorPointers.Ptr(w, "weights"), w.NumberOfElements, batch,
                    NativeTensorData.Int64Ptr(ids, "ids"), TensorPointers.Ptr(output, "out"),
                    ws is null ? null : TensorPointers.Ptr(ws, "workspace"), bytes));
        }
        catch (DynRecArgumentException e)
        {
            throw _layout.NamedIdError(e);
        }
        return output;
    }

    internal unsafe void NativeBackwardUpdate(Tensor ids, Tensor gradOut)
    {
        var device = TensorPointers.CommonDevice(ids, weights, gradOut);
        var batch = ids.shape[0];
        var bytes = _layout.WorkspaceBytes(device, batch);
        var ws = NativeTensorData.Workspace(ref _workspace, bytes, weights.device);
        using var noGrad = no_grad();
        step.add_(1);
        var o = Optimizer;
        float* s1 = o.Kind switch
        {
            SparseOptimizerKind.LazyAdam => TensorPointers.Ptr(exp_avg, "exp_avg"),
            SparseOptimizerKind.RowWiseAdagrad => TensorPointers.Ptr(adagrad_sum, "adagrad_sum"),
            _ => null,
        };
        float* s2 = o.Kind == SparseOptimizerKind.LazyAdam ? TensorPointers.Ptr(exp_avg_sq, "exp_avg_sq") : null;
        long* rs = o.Kind == SparseOptimizerKind.LazyAdam && o.PerRowSteps ? NativeTensorData.Int64Ptr(row_steps, "row_steps") : null;
        try
        {
            fixed (long* rows = _layout.TableRows, dims = _layout.TableDims, offs = _layout.TableOffsets, ft = _layout.FieldTable, bags = _layout.BagSizes)
            fixed (int* pool = _layout.Pooling)
                Native.Check(Methods.TbeBackwardUpdate(device, null, _layout.TableCount, rows, dims, offs,
                    _layout.FieldCount, ft, bags, pool, TensorPointers.Ptr(weights, "weights"), weights.NumberOfElements,
                    batch, NativeTensorData.Int64Ptr(ids, "ids"), TensorPointers.Ptr(gradOut, "grad_out"),
                    (int)o.Kind, o.LearningRate, o.Eps, o.Beta1, o.Beta2, step.cpu().item<long>(), s1, s2, rs,
                    ws is null ? null : TensorPointers.Ptr(ws, "workspace"), bytes));
        }
        catch (DynRecArgumentException e)
        {
            step.sub_(1);
            throw _layout.NamedIdError(e);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _workspace?.Dispose();
        base.Dispose(disposing);
    }
}
