using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Data;

/// <summary>
/// Preprocessed rows, stored factorized so that a shuffled batch touches few
/// cache lines: one packed record per row ([user entity, item entity,
/// sequence group, scenario, date, context ids..., labels...], each column in
/// 1, 2 or 4 bytes by its range: <see cref="PackedRows"/>), one row-major
/// int32 id record per user and per item entity (the user and item fields),
/// and one sequence per (user, date) group. The schema's sparse fields are
/// ordered user fields, item fields, context fields, so a row's sparse ids are
/// the three records laid end to end. Ids are 0 for padding/unknown.
/// Batches are written straight into tensor memory: no per-sample allocation.
/// </summary>
public sealed class Dataset : DynRec.Training.IBatchSource
{
    private const int RowUser = 0, RowItem = 1, RowGroup = 2, RowScenario = 3, RowDate = 4, RowContext = 5;

    /// <param name="userFieldCount">fields 0..U-1 come from <paramref name="userTable"/> (U ids per user entity).</param>
    /// <param name="itemFieldCount">fields U..U+I-1 come from <paramref name="itemTable"/>; the rest are per-row context.</param>
    /// <param name="records">one per row, <see cref="RecordColumnsFor"/> columns: user entity, item entity, sequence group, scenario, date (yyyymmdd), context ids, labels (0/1).</param>
    /// <param name="sequences">[groups * L] (most recent first, 0-padded); empty when the schema has no sequence.</param>
    /// <param name="oracle">oracle[task][row]: planted true probabilities (synthetic data), or null.</param>
    /// <param name="keys">raw user_id / video_id / tab behind the user and item entities and scenarios.</param>
    /// <param name="times">each row's time_ms in the source log.</param>
    /// <param name="hasLabels">false for rows to score (an impression log): their labels are 0, not observed.</param>
    public Dataset(FeatureSchema schema, int userFieldCount, int itemFieldCount, PackedRows records,
        int[] userTable, int[] itemTable, int[] sequences, float[][]? oracle, EntityKeys keys, RowTimes times, bool hasLabels = true)
    {
        Schema = schema;
        UserFieldCount = userFieldCount;
        ItemFieldCount = itemFieldCount;
        ContextFieldCount = schema.SparseFields.Count - userFieldCount - itemFieldCount;
        if (userFieldCount < 1 || itemFieldCount < 0 || ContextFieldCount < 0)
            throw new ArgumentException($"bad field split {userFieldCount} user + {itemFieldCount} item of {schema.SparseFields.Count}");
        var columns = RecordColumnsFor(ContextFieldCount, schema.Tasks.Count);
        if (records.Columns != columns) throw new ArgumentException($"row records must have {columns} columns, got {records.Columns}");
        var rows = records.Rows;
        if (userTable.Length % userFieldCount != 0 || (itemFieldCount > 0 && itemTable.Length % itemFieldCount != 0))
            throw new ArgumentException("entity tables must hold whole records");
        var seqLength = schema.Sequence?.MaxLength ?? 0;
        if (seqLength > 0 && sequences.Length % seqLength != 0) throw new ArgumentException("sequences must hold whole sequences");
        if (oracle != null && (oracle.Length != schema.Tasks.Count || oracle.Any(c => c.Length != rows)))
            throw new ArgumentException("oracle must have one column of rows per task");
        if (times.Count != rows) throw new ArgumentException($"times must have one entry per row ({rows}), got {times.Count}");
        UserIdField = schema.IndexOf(keys.Columns.User);
        if (UserIdField < 0 || UserIdField >= userFieldCount)
            throw new ArgumentException($"the user key field '{keys.Columns.User}' must be one of the user fields");
        Rows = rows;
        Records = records;
        UserTable = userTable;
        ItemTable = itemTable;
        Sequences = sequences;
        Oracle = oracle;
        Keys = keys;
        Times = times;
        HasLabels = hasLabels;
        var users = userTable.Length / userFieldCount;
        var items = itemFieldCount == 0 ? 0 : itemTable.Length / itemFieldCount;
        if (keys.UserIds.Length != users || keys.VideoIds.Length != items || keys.ScenarioValues.Length != schema.ScenarioCount)
            throw new ArgumentException($"entity keys ({keys.UserIds.Length} users, {keys.VideoIds.Length} videos, {keys.ScenarioValues.Length} scenarios) "
                + $"do not match the tables ({users} users, {items} videos, {schema.ScenarioCount} scenarios)");
        // Every stored value lies in its column's declared range, so bounding the ranges bounds every row.
        var groups = seqLength == 0 ? 0 : sequences.Length / seqLength;
        CheckColumn(RowUser, "user entity", users);
        if (itemFieldCount > 0) CheckColumn(RowItem, "item entity", items);
        if (seqLength > 0) CheckColumn(RowGroup, "sequence group", groups);
        CheckColumn(RowScenario, "scenario", schema.ScenarioCount);
    }

    private void CheckColumn(int column, string what, int count)
    {
        if (Rows == 0) return;
        var range = Records.RangeOf(column);
        if (range.Min < 0 || range.Max >= count)
            throw new ArgumentException($"the row records' {what} column may hold {range.Min}..{range.Max}, outside the {count} there are");
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

    internal RowTimes Times { get; }
    internal int UserIdField { get; }
    internal PackedRows Records { get; }
    internal int[] UserTable { get; }
    internal int[] ItemTable { get; }
    internal int[] Sequences { get; }

    /// <summary>Id of sparse field <paramref name="field"/> (schema order) on a row.</summary>
    public int Id(int field, int row)
    {
        if (field < UserFieldCount) return UserTable[(long)Records.Get(row, RowUser) * UserFieldCount + field];
        field -= UserFieldCount;
        if (field < ItemFieldCount) return ItemTable[(long)Records.Get(row, RowItem) * ItemFieldCount + field];
        return Records.Get(row, RowContext + field - ItemFieldCount);
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

    public float Label(int task, int row) => Records.Get(row, RowContext + ContextFieldCount + task);

    /// <summary>A task's labels for every row (a new array).</summary>
    public float[] LabelColumn(int task)
    {
        var a = new float[Rows];
        for (var r = 0; r < Rows; r++) a[r] = Label(task, r);
        return a;
    }

    public int ScenarioOf(int row) => Records.Get(row, RowScenario);

    public RowKey KeyOf(int row)
    {
        Span<int> d = stackalloc int[Records.Columns];
        Records.GetRecord(row, d);
        return new RowKey(Keys.UserIds[d[RowUser]], ItemFieldCount == 0 ? 0 : Keys.VideoIds[d[RowItem]], Times[row], d[RowDate],
            Keys.ScenarioValues[d[RowScenario]]);
    }
    public int DateOf(int row) => Records.Get(row, RowDate);
    public int UserIdOf(int row) => UserTable[(long)Records.Get(row, RowUser) * UserFieldCount + UserIdField];

    /// <summary>
    /// The row's user entity: one index per distinct raw user id of the data (train and test), so users that
    /// training never saw, whose encoded user_id is 0 for all of them, stay apart (GAUC groups by this).
    /// </summary>
    public int UserEntityOf(int row) => Records.Get(row, RowUser);

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
        return len == 0 ? ReadOnlySpan<int>.Empty : Sequences.AsSpan(Records.Get(row, RowGroup) * len, len);
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
    /// that order. Every block (sparse, sequence, labels, scenario, user ids) is
    /// filled in place in one int64 CPU buffer and handed out as a view of it;
    /// for CUDA the buffer is copied once, from pinned memory and without
    /// blocking (a blocking host-to-device copy is followed by a stream
    /// synchronize in LibTorch, which would stall the host once per block).
    /// </summary>
    public unsafe Batch GetBatch(ReadOnlySpan<int> rows, Device? device = null)
    {
        var b = rows.Length;
        if (b == 0) throw new ArgumentException("a batch needs at least one row", nameof(rows));
        foreach (var r in rows)
            if ((uint)r >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(rows), $"row {r} outside 0..{Rows - 1}");
        int fu = UserFieldCount, fi = ItemFieldCount, fc = ContextFieldCount, f = fu + fi + fc, t = Schema.Tasks.Count;
        var len = Schema.Sequence?.MaxLength ?? 0;

        // Blocks back to back: sparse [b, f], sequence [b, len], labels [b, t] (0/1), scenario [b], user entities [b].
        long nSparse = (long)b * f, nSequence = (long)b * len, nLabels = (long)b * t;
        using var host = empty(nSparse + nSequence + nLabels + 2L * b, ScalarType.Int64);
        var s = (long*)Pointer<long>(host);
        long* q = s + nSparse, l = q + nSequence, sc = l + nLabels, us = sc + b;
        // The tables are read with checked indexing: a row's entity or group index is bounded by its
        // column's declared range (checked against the tables when the dataset was built), and a bad
        // one would throw here rather than read outside the arrays.
        Span<int> d = stackalloc int[Records.Columns];
        ReadOnlySpan<int> userTable = UserTable, itemTable = ItemTable, sequences = Sequences;
        for (var i = 0; i < b; i++)
        {
            Records.GetRecord(rows[i], d);
            var dst = s + (long)i * f;
            var user = userTable.Slice(d[RowUser] * fu, fu);
            for (var k = 0; k < fu; k++) dst[k] = user[k];
            var item = itemTable.Slice(d[RowItem] * fi, fi);
            for (var k = 0; k < fi; k++) dst[fu + k] = item[k];
            for (var k = 0; k < fc; k++) dst[fu + fi + k] = d[RowContext + k];
            for (var k = 0; k < t; k++) l[(long)i * t + k] = d[RowContext + fc + k];
            sc[i] = d[RowScenario];
            us[i] = d[RowUser];  // the user entity, not the encoded id: GAUC must not pool unseen users
            if (len > 0)
            {
                var src = sequences.Slice(d[RowGroup] * len, len);
                var qd = q + (long)i * len;
                for (var k = 0; k < len; k++) qd[k] = src[k];
            }
        }

        using var copied = device is null || device.type == DeviceType.CPU ? null : CopyToDevice(host, device);
        var all = copied ?? host;
        Tensor Block(long offset, long count, params long[] shape)
        {
            using var part = all.narrow(0, offset, count);
            return part.view(shape);
        }
        using var labels = Block(nSparse + nSequence, nLabels, b, t);
        return new Batch(Block(0, nSparse, b, f), len > 0 ? Block(nSparse, nSequence, b, len) : null,
            labels.to(ScalarType.Float32), Block(nSparse + nSequence + nLabels, b, b),
            Block(nSparse + nSequence + nLabels + b, b, b));
    }

    /// <summary>Start of a fresh (contiguous, offset 0) CPU tensor's memory.</summary>
    private static IntPtr Pointer<T>(Tensor t) where T : unmanaged
    {
        using var storage = t.storage<T>();
        return storage.data_ptr();
    }

    /// <summary>
    /// One copy to <paramref name="device"/>; for CUDA through pinned memory, not blocking the host (LibTorch's
    /// pinned-memory cache keeps the staging buffer until the copy has run).
    /// </summary>
    private static Tensor CopyToDevice(Tensor host, Device device)
    {
        if (device.type != DeviceType.CUDA) return host.to(device);
        using var pinned = host.pin_memory();
        return pinned.to(device, non_blocking: true);
    }

    /// <summary>Columns of a row record: user entity, item entity, sequence group, scenario, date, context ids, labels.</summary>
    public static int RecordColumnsFor(int contextFields, int tasks) => RowContext + contextFields + tasks;

    /// <summary>
    /// The column ranges of row records (for <see cref="PackedRows"/>): entity, group and scenario
    /// indices below their counts, dates in [firstDate, lastDate], each context field's ids below its
    /// vocabulary size, labels 0/1.
    /// </summary>
    public static PackedRows.ColumnRange[] RecordRanges(int users, int items, int groups, int scenarios, int firstDate,
        int lastDate, IReadOnlyList<int> contextVocabularies, int tasks)
    {
        static PackedRows.ColumnRange Below(int count) => new(0, Math.Max(0, count - 1));
        var ranges = new List<PackedRows.ColumnRange>
        {
            Below(users), Below(items), Below(groups), Below(scenarios), new(firstDate, Math.Max(firstDate, lastDate)),
        };
        ranges.AddRange(contextVocabularies.Select(Below));
        for (var t = 0; t < tasks; t++) ranges.Add(new PackedRows.ColumnRange(0, 1));
        return ranges.ToArray();
    }

    /// <summary>Writes one row record (used by the preprocessor).</summary>
    internal static void WriteRecord(PackedRows records, int row, int userEntity, int itemEntity, int group, int scenario,
        int date, ReadOnlySpan<int> context, ReadOnlySpan<int> labels)
    {
        records.Set(row, RowUser, userEntity);
        records.Set(row, RowItem, itemEntity);
        records.Set(row, RowGroup, group);
        records.Set(row, RowScenario, scenario);
        records.Set(row, RowDate, date);
        for (var k = 0; k < context.Length; k++) records.Set(row, RowContext + k, context[k]);
        for (var k = 0; k < labels.Length; k++) records.Set(row, RowContext + context.Length + k, labels[k]);
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
