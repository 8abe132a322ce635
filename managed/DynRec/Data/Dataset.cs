using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Data;

/// <summary>
/// Preprocessed rows in columns: an int32 id column per sparse field (schema
/// order), a float label column per task, the scenario, the encoded user id,
/// the date (yyyymmdd), the sequence feature [Rows * L] (0-padded, most recent
/// first) and, for synthetic data, the true probability of each task.
/// Batches are built straight into tensor memory: no per-sample allocation.
/// </summary>
public sealed class Dataset
{
    public Dataset(FeatureSchema schema, int rows, int[][] sparse, float[][] labels, int[] scenario, int[] userIds,
        int[] dates, int[]? sequence, float[][]? oracle)
    {
        if (sparse.Length != schema.SparseFields.Count)
            throw new ArgumentException($"{sparse.Length} sparse columns for {schema.SparseFields.Count} fields");
        if (labels.Length != schema.Tasks.Count)
            throw new ArgumentException($"{labels.Length} label columns for {schema.Tasks.Count} tasks");
        if (sparse.Any(c => c.Length != rows) || labels.Any(c => c.Length != rows) || scenario.Length != rows
            || userIds.Length != rows || dates.Length != rows)
            throw new ArgumentException($"every column must have {rows} rows");
        if ((schema.Sequence == null) != (sequence == null))
            throw new ArgumentException("sequence column must be given exactly when the schema has a sequence field");
        if (sequence != null && sequence.Length != (long)rows * schema.Sequence!.MaxLength)
            throw new ArgumentException($"sequence column must have rows * {schema.Sequence.MaxLength} entries");
        if (oracle != null && (oracle.Length != schema.Tasks.Count || oracle.Any(c => c.Length != rows)))
            throw new ArgumentException("oracle must have one column of rows per task");
        Schema = schema;
        Rows = rows;
        Sparse = sparse;
        Labels = labels;
        Scenario = scenario;
        UserIds = userIds;
        Dates = dates;
        Sequence = sequence;
        Oracle = oracle;
    }

    public FeatureSchema Schema { get; }
    public int Rows { get; }
    /// <summary>Sparse[f][row]: id of field f (0 = padding/unknown).</summary>
    public int[][] Sparse { get; }
    /// <summary>Labels[t][row]: 0 or 1.</summary>
    public float[][] Labels { get; }
    public int[] Scenario { get; }
    public int[] UserIds { get; }
    public int[] Dates { get; }
    /// <summary>Row-major [Rows, L] or null.</summary>
    public int[]? Sequence { get; }
    /// <summary>Oracle[t][row]: the planted true probability (synthetic data), or null.</summary>
    public float[][]? Oracle { get; }

    /// <summary>The sequence of one row (length L).</summary>
    public ReadOnlySpan<int> SequenceOf(int row) =>
        Sequence == null ? ReadOnlySpan<int>.Empty : Sequence.AsSpan(row * Schema.Sequence!.MaxLength, Schema.Sequence.MaxLength);

    /// <summary>A batch of rows start..start+count-1.</summary>
    public Batch GetBatch(int start, int count, Device? device = null)
    {
        if (start < 0 || count <= 0 || start + (long)count > Rows)
            throw new ArgumentOutOfRangeException(nameof(start), $"rows {start}..{start + count - 1} outside 0..{Rows - 1}");
        var rows = new int[count];
        for (var i = 0; i < count; i++) rows[i] = start + i;
        return GetBatch(rows, device);
    }

    /// <summary>
    /// A batch of the given rows (e.g. a slice of a shuffled permutation), in
    /// that order. Columns are written directly into freshly allocated CPU
    /// tensors (one per block); for another device each block is copied once.
    /// </summary>
    public unsafe Batch GetBatch(ReadOnlySpan<int> rows, Device? device = null)
    {
        var b = rows.Length;
        if (b == 0) throw new ArgumentException("a batch needs at least one row", nameof(rows));
        foreach (var r in rows)
            if ((uint)r >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(rows), $"row {r} outside 0..{Rows - 1}");
        var f = Sparse.Length;
        var t = Labels.Length;

        var sparse = empty(new long[] { b, f }, ScalarType.Int64);
        var s = (long*)Pointer<long>(sparse);
        for (var j = 0; j < f; j++)
        {
            var col = Sparse[j];
            for (var i = 0; i < b; i++) s[(long)i * f + j] = col[rows[i]];
        }

        var labels = empty(new long[] { b, t }, ScalarType.Float32);
        var l = (float*)Pointer<float>(labels);
        for (var j = 0; j < t; j++)
        {
            var col = Labels[j];
            for (var i = 0; i < b; i++) l[(long)i * t + j] = col[rows[i]];
        }

        var scenario = empty(new long[] { b }, ScalarType.Int64);
        var users = empty(new long[] { b }, ScalarType.Int64);
        var sc = (long*)Pointer<long>(scenario);
        var us = (long*)Pointer<long>(users);
        for (var i = 0; i < b; i++)
        {
            sc[i] = Scenario[rows[i]];
            us[i] = UserIds[rows[i]];
        }

        Tensor? sequence = null;
        if (Sequence != null)
        {
            var len = Schema.Sequence!.MaxLength;
            sequence = empty(new long[] { b, len }, ScalarType.Int64);
            var q = (long*)Pointer<long>(sequence);
            for (var i = 0; i < b; i++)
            {
                var src = Sequence.AsSpan(rows[i] * len, len);
                var dst = q + (long)i * len;
                for (var k = 0; k < len; k++) dst[k] = src[k];
            }
        }

        if (device != null && device.type != DeviceType.CPU)
        {
            sparse = MoveTo(sparse, device);
            labels = MoveTo(labels, device);
            scenario = MoveTo(scenario, device);
            users = MoveTo(users, device);
            if (sequence is not null) sequence = MoveTo(sequence, device);
        }
        return new Batch(sparse, sequence, labels, scenario, users);
    }

    /// <summary>Start of a fresh (contiguous, offset 0) CPU tensor's memory.</summary>
    private static IntPtr Pointer<T>(Tensor t) where T : unmanaged
    {
        using var storage = t.storage<T>();
        return storage.data_ptr();
    }

    private static Tensor MoveTo(Tensor cpu, Device device)
    {
        var moved = cpu.to(device);
        cpu.Dispose();
        return moved;
    }
}

/// <summary>Counts about the source data that the preprocessed rows no longer show.</summary>
public sealed record DataInfo(
    string Source,
    long RowsRead,
    long RowsDroppedByTab,
    int Users,
    int Videos,
    int Authors,
    int TestDate);

/// <summary>The preprocessed data: schema, train rows (all dates but the last), test rows (the last date).</summary>
public sealed record DataSplit(FeatureSchema Schema, Dataset Train, Dataset Test, DataInfo Info)
{
    /// <summary>True when this split was read from the binary cache rather than parsed.</summary>
    public bool FromCache { get; init; }
}
