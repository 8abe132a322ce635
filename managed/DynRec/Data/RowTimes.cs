namespace DynRec.Data;

/// <summary>
/// Each row's time_ms in the source log, as the smallest value plus a 4-byte offset when the range
/// fits (~49 days of milliseconds: every KuaiRand release), else as full 8-byte values.
/// </summary>
public sealed class RowTimes
{
    private readonly uint[]? _offsets;
    private readonly long[]? _wide;

    private RowTimes(long origin, uint[]? offsets, long[]? wide, int count)
    {
        Origin = origin;
        _offsets = offsets;
        _wide = wide;
        Count = count;
    }

    /// <summary>The values of <paramref name="timeOf"/>(0..count-1), narrow when their range allows.</summary>
    public static RowTimes Build(int count, Func<int, long> timeOf)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        long min = long.MaxValue, max = long.MinValue;
        for (var i = 0; i < count; i++)
        {
            var t = timeOf(i);
            if (t < min) min = t;
            if (t > max) max = t;
        }
        if (count == 0) return new RowTimes(0, Array.Empty<uint>(), null, 0);
        if ((ulong)(max - min) <= uint.MaxValue)
        {
            var offsets = GC.AllocateUninitializedArray<uint>(count);
            for (var i = 0; i < count; i++) offsets[i] = (uint)(timeOf(i) - min);
            return new RowTimes(min, offsets, null, count);
        }
        var wide = GC.AllocateUninitializedArray<long>(count);
        for (var i = 0; i < count; i++) wide[i] = timeOf(i);
        return new RowTimes(0, null, wide, count);
    }

    /// <summary>
    /// The times of the rows <paramref name="keep"/> accepts, in order (<paramref name="count"/> of them),
    /// in this store's form: narrow offsets stay offsets from the same origin.
    /// </summary>
    public RowTimes Subset(int count, Func<int, bool> keep)
    {
        uint[]? offsets = _offsets != null ? GC.AllocateUninitializedArray<uint>(count) : null;
        long[]? wide = _wide != null ? GC.AllocateUninitializedArray<long>(count) : null;
        var i = 0;
        for (var r = 0; r < Count; r++)
        {
            if (!keep(r)) continue;
            if (i == count) throw new ArgumentException($"more than {count} rows were kept", nameof(count));
            if (offsets != null) offsets[i] = _offsets![r];
            else wide![i] = _wide![r];
            i++;
        }
        if (i != count) throw new ArgumentException($"{i} rows were kept, not {count}", nameof(count));
        return new RowTimes(Origin, offsets, wide, count);
    }

    /// <summary>From stored parts (the binary cache): offsets from <paramref name="origin"/>, or full values.</summary>
    internal static RowTimes FromParts(long origin, uint[]? offsets, long[]? wide)
    {
        if ((offsets == null) == (wide == null)) throw new ArgumentException("exactly one of offsets and wide values");
        return new RowTimes(wide == null ? origin : 0, offsets, wide, offsets?.Length ?? wide!.Length);
    }

    public int Count { get; }

    public long this[int row] => _offsets != null ? Origin + _offsets[row] : _wide![row];

    /// <summary>The value the offsets count from (0 when values are stored wide).</summary>
    internal long Origin { get; }

    internal uint[]? Offsets => _offsets;
    internal long[]? Wide => _wide;
}
