using DynRec.Data;
using static TorchSharp.torch;

namespace DynRec.Training;

/// <summary>
/// Some rows of another <see cref="IBatchSource"/>, addressed 0..Rows-1 in the
/// order given: row i is the source's row <c>rows[i]</c>. Batches, keys and the
/// oracle come from the source, so a subset costs one int per row.
/// </summary>
public sealed class RowSubset : IBatchSource
{
    private readonly IBatchSource _source;
    private readonly int[] _rows;

    public RowSubset(IBatchSource source, int[] rows)
    {
        foreach (var r in rows)
            if ((uint)r >= (uint)source.Rows)
                throw new ArgumentOutOfRangeException(nameof(rows), $"row {r} is outside the source's {source.Rows} rows");
        _source = source;
        _rows = rows;
        Oracle = source.Oracle?.Select(task => Array.ConvertAll(rows, r => task[r])).ToArray();
    }

    public FeatureSchema Schema => _source.Schema;
    public int Rows => _rows.Length;
    public float[][]? Oracle { get; }
    public bool HasLabels => _source.HasLabels;

    public RowKey KeyOf(int row) => _source.KeyOf(_rows[row]);

    public Batch GetBatch(ReadOnlySpan<int> rows, Device? device = null)
    {
        var mapped = new int[rows.Length];
        for (var i = 0; i < rows.Length; i++) mapped[i] = _rows[rows[i]];
        return _source.GetBatch(mapped, device);
    }
}
