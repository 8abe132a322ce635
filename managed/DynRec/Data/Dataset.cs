using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Data;

/// <summary>
/// Preprocessed rows, stored factorized so that a shuffled batch touches few
/// cache lines: one row-major record per row ([user entity, item entity,
/// sequence group, scenario, date, context ids..., labels...]), one row-major
/// id record per user and per item entity (the user and item fields), and one
/// sequence per (user, date) group. The schema's sparse fields are ordered
/// user fields, item fields, context fields, so a row's sparse ids are the
/// three records laid end to end. Every id is an int32 (0 = padding/unknown).
/// Batches are written straight into tensor memory: no per-sample allocation.
/// </summary>
public sealed class Dataset : DynRec.Training.IBatchSource
{
    private const int RowUser = 0, RowItem = 1, RowGroup = 2, RowScenario = 3, RowDate = 4, RowContext = 5;

    /// <param name="userFieldCount">fields 0..U-1 come from <paramref name="userTable"/> (U ids per user entity).</param>
    /// <param name="itemFieldCount">fields U..U+I-1 come from <paramref name="itemTable"/>; the rest are per-row context.</param>
    /// <param name="rowData">[rows * RowStride]: user entity, item entity, sequence group, scenario, date (yyyymmdd), context ids, labels (0/1).</param>
    /// <param name="sequences">[groups * L] (most recent first, 0-padded); empty when the schema has no sequence.</param>
    /// <param name="oracle">oracle[task][row]: planted true probabilities (synthetic data), or null.</param>
    /// <param name="keys">raw user_id / video_id / tab behind the user and item entities and scenarios.</param>
    /// <param name="timeMs">[rows]: each row's time_ms in the source log.</param>
    /// <param name="hasLabels">false for rows to score (an impression log): their labels are 0, not observed.</param>
    public Dataset(FeatureSchema schema, int userFieldCount, int itemFieldCount, int rows, int[] rowData,
        int[] userTable, int[] itemTable, int[] sequences, float[][]? oracle, EntityKeys keys, long[] timeMs, bool hasLabels = true)
    {
        Schema = schema;
        UserFieldCount = userFieldCount;
        ItemFieldCount = itemFieldCount;
        ContextFieldCount = schema.SparseFields.Count - userFieldCount - itemFieldCount;
        if (userFieldCount < 1 || itemFieldCount < 0 || ContextFieldCount < 0)
            throw new ArgumentException($"bad field split {userFieldCount} user + {itemFieldCount} item of {schema.SparseFields.Count}");
        RowStride = RowContext + ContextFieldCount + schema.Tasks.Count;
        if (rowData.Length != (long)rows * RowStride) throw new ArgumentException($"rowData must have rows * {RowStride} entries");
        if (userTable.Length % userFieldCount != 0 || (itemFieldCount > 0 && itemTable.Length % itemFieldCount != 0))
            throw new ArgumentException("entity tables must hold whole records");
        var seqLength = schema.Sequence?.MaxLength ?? 0;
        if (seqLength > 0 && sequences.Length % seqLength != 0) throw new ArgumentException("sequences must hold whole sequences");
        if (oracle != null && (oracle.Length != schema.Tasks.Count || oracle.Any(c => c.Length != rows)))
            throw new ArgumentException("oracle must have one column of rows per task");
        if (timeMs.Length != rows) throw new ArgumentException($"timeMs must have one entry per row ({rows}), got {timeMs.Length}");
        UserIdField = schema.IndexOf("user_id");
        if (UserIdField < 0 || UserIdField >= userFieldCount) throw new ArgumentException("user_id must be one of the user fields");
        Rows = rows;
        RowData = rowData;
        UserTable = userTable;
        ItemTable = itemTable;
        Sequences = sequences;
        Oracle = oracle;
        Keys = keys;
        TimeMs = timeMs;
        HasLabels = hasLabels;
        var users = userTable.Length / userFieldCount;
        var items = itemFieldCount == 0 ? 0 : itemTable.Length / itemFieldCount;
        if (keys.UserIds.Length != users || keys.VideoIds.Length != items || keys.ScenarioValues.Length != schema.ScenarioCount)
            throw new ArgumentException($"entity keys ({keys.UserIds.Length} users, {keys.VideoIds.Length} videos, {keys.ScenarioValues.Length} scenarios) "
                + $"do not match the tables ({users} users, {items} videos, {schema.ScenarioCount} scenarios)");
        var groups = seqLength == 0 ? 0 : sequences.Length / seqLength;
        for (var r = 0; r < rows; r++)
        {
            var d = rowData.AsSpan(r * RowStride, RowStride);
            if ((uint)d[RowUser] >= (uint)users || (itemFieldCount > 0 && (uint)d[RowItem] >= (uint)items)
                || (seqLength > 0 && (uint)d[RowGroup] >= (uint)groups) || (uint)d[RowScenario] >= (uint)schema.ScenarioCount)
                throw new ArgumentException($"row {r} refers outside the entity tables or scenarios");
        }
    }

    public FeatureSchema Schema { get; }
    public int Rows { get; }
    public int UserFieldCount { get; }
    public int ItemFieldCount { get; }
    public int ContextFieldCount { get; }
    /// <summary>Oracle[task][row]: the planted true probability (synthetic data), or null.</summary>
    public float[][]? Oracle { get; }

    public bool HasLabels { get; }

    /// <summary>The raw values behind the entity and scenario indices (shared with the other split).</summary>
    public EntityKeys Keys { get; }

    internal long[] TimeMs { get; }
    internal int RowStride { get; }
    internal int UserIdField { get; }
    internal int[] RowData { get; }
    internal int[] UserTable { get; }
    internal int[] ItemTable { get; }
    internal int[] Sequences { get; }

    /// <summary>Id of sparse field <paramref name="field"/> (schema order) on a row.</summary>
    public int Id(int field, int row)
    {
        var d = RowData.AsSpan(row * RowStride, RowStride);
        if (field < UserFieldCount) return UserTable[d[RowUser] * UserFieldCount + field];
        field -= UserFieldCount;
        if (field < ItemFieldCount) return ItemTable[d[RowItem] * ItemFieldCount + field];
        return d[RowContext + field - ItemFieldCount];
    }

    /// <summary>A field's ids for every row (a new array).</summary>
    public int[] Column(int field)
    {
        if ((uint)field >= (uint)Schema.SparseFields.Count) throw new ArgumentOutOfRangeException(nameof(field));
        var a = new int[Rows];
        for (var r = 0; r < Rows; r++) a[r] = Id(field, r);
        return a;
    }

    public int[] Column(string field) => Column(Schema.IndexOf(field) is var f and >= 0 ? f : throw new KeyNotFoundException($"no sparse field '{field}'"));

    public float Label(int task, int row) => RowData[row * RowStride + RowContext + ContextFieldCount + task];

    /// <summary>A task's labels for every row (a new array).</summary>
    public float[] LabelColumn(int task)
    {
        var a = new float[Rows];
        for (var r = 0; r < Rows; r++) a[r] = Label(task, r);
        return a;
    }

    public int ScenarioOf(int row) => RowData[row * RowStride + RowScenario];

    public RowKey KeyOf(int row)
    {
        var d = RowData.AsSpan(row * RowStride, RowStride);
        return new RowKey(Keys.UserIds[d[RowUser]], ItemFieldCount == 0 ? 0 : Keys.VideoIds[d[RowItem]], TimeMs[row], d[RowDate],
            Keys.ScenarioValues[d[RowScenario]]);
    }
    public int DateOf(int row) => RowData[row * RowStride + RowDate];
    public int UserIdOf(int row) => UserTable[RowData[row * RowStride + RowUser] * UserFieldCount + UserIdField];

    public int[] ScenarioColumn()
    {
        var a = new int[Rows];
        for (var r = 0; r < Rows; r++) a[r] = ScenarioOf(r);
        return a;
    }

    /// <summary>Encoded user_id of every row (a new array), e.g. for GAUC.</summary>
    public int[] UserIdColumn()
    {
        var a = new int[Rows];
        for (var r = 0; r < Rows; r++) a[r] = UserIdOf(r);
        return a;
    }

    /// <summary>The sequence feature of a row (length L; empty without a sequence field).</summary>
    public ReadOnlySpan<int> SequenceOf(int row)
    {
        var len = Schema.Sequence?.MaxLength ?? 0;
        return len == 0 ? ReadOnlySpan<int>.Empty : Sequences.AsSpan(RowData[row * RowStride + RowGroup] * len, len);
    }

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
    /// that order. Each block (sparse, labels, scenario, user ids, sequence) is
    /// one CPU tensor filled in place; for another device it is copied once.
    /// </summary>
    public unsafe Batch GetBatch(ReadOnlySpan<int> rows, Device? device = null)
    {
        var b = rows.Length;
        if (b == 0) throw new ArgumentException("a batch needs at least one row", nameof(rows));
        foreach (var r in rows)
            if ((uint)r >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(rows), $"row {r} outside 0..{Rows - 1}");
        int fu = UserFieldCount, fi = ItemFieldCount, fc = ContextFieldCount, f = fu + fi + fc, t = Schema.Tasks.Count;
        var len = Schema.Sequence?.MaxLength ?? 0;

        var sparse = empty(new long[] { b, f }, ScalarType.Int64);
        var labels = empty(new long[] { b, t }, ScalarType.Float32);
        var scenario = empty(new long[] { b }, ScalarType.Int64);
        var users = empty(new long[] { b }, ScalarType.Int64);
        var sequence = len > 0 ? empty(new long[] { b, len }, ScalarType.Int64) : null;
        long* s = (long*)Pointer<long>(sparse), sc = (long*)Pointer<long>(scenario), us = (long*)Pointer<long>(users);
        var l = (float*)Pointer<float>(labels);
        var q = sequence is null ? null : (long*)Pointer<long>(sequence);
        fixed (int* rowData = RowData, userTable = UserTable, itemTable = ItemTable, sequences = Sequences)
        {
            for (var i = 0; i < b; i++)
            {
                var d = rowData + (long)rows[i] * RowStride;
                var dst = s + (long)i * f;
                var user = userTable + (long)d[RowUser] * fu;
                for (var k = 0; k < fu; k++) dst[k] = user[k];
                var item = itemTable + (long)d[RowItem] * fi;
                for (var k = 0; k < fi; k++) dst[fu + k] = item[k];
                for (var k = 0; k < fc; k++) dst[fu + fi + k] = d[RowContext + k];
                for (var k = 0; k < t; k++) l[(long)i * t + k] = d[RowContext + fc + k];
                sc[i] = d[RowScenario];
                us[i] = user[UserIdField];
                if (q != null)
                {
                    var src = sequences + (long)d[RowGroup] * len;
                    var qd = q + (long)i * len;
                    for (var k = 0; k < len; k++) qd[k] = src[k];
                }
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

    /// <summary>Assembles the row records of a dataset (used by the preprocessor).</summary>
    internal static int RowStrideFor(int contextFields, int tasks) => RowContext + contextFields + tasks;

    internal static void WriteRow(Span<int> record, int userEntity, int itemEntity, int group, int scenario, int date,
        ReadOnlySpan<int> context, ReadOnlySpan<int> labels)
    {
        record[RowUser] = userEntity;
        record[RowItem] = itemEntity;
        record[RowGroup] = group;
        record[RowScenario] = scenario;
        record[RowDate] = date;
        context.CopyTo(record[RowContext..]);
        labels.CopyTo(record[(RowContext + context.Length)..]);
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

/// <summary>
/// The preprocessed data: schema, train rows (all dates but the last), test rows (the last date),
/// and the encoding the ids were made with (learned from the train rows, or given).
/// </summary>
public sealed record DataSplit(FeatureSchema Schema, Dataset Train, Dataset Test, DataInfo Info, FeatureEncoding Encoding)
{
    /// <summary>True when this split was read from the binary cache rather than parsed.</summary>
    public bool FromCache { get; init; }
}
