namespace DynRec.Data;

/// <summary>
/// Each row's time_ms in the source log, as the smallest value plus a 4-byte offset when the range
/// fits (~49 days of milliseconds: every KuaiRand release), else as full 8-byte values; in chunks of
/// 2^20 rows, like <see cref="PackedRows"/>, so no GB-sized block is ever needed.
/// </summary>
public sealed class RowTimes
{
    internal const int Shift = 20, ChunkRows = 1 << Shift, Mask = ChunkRows - 1;
    private readonly uint[][]? _offsets;
    private readonly long[][]? _wide;

    private RowTimes(long origin, uint[][]? offsets, long[][]? wide, int count)
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
        var builder = new Builder(count, min, max);
        for (var i = 0; i < count; i++) builder.Add(timeOf(i));
        return builder.Finish();
    }

    /// <summary>
    /// Room for <paramref name="count"/> times whose storage the caller fills chunk by chunk (the
    /// binary cache reads them straight into <see cref="OffsetChunks"/> or <see cref="WideChunks"/>).
    /// </summary>
    internal static RowTimes Allocate(int count, bool narrow, long origin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var chunks = (int)(((long)count + Mask) >> Shift);
        int Size(int k) => Math.Min(ChunkRows, count - (k << Shift));
        if (narrow)
        {
            var offsets = new uint[chunks][];
            for (var k = 0; k < chunks; k++) offsets[k] = GC.AllocateUninitializedArray<uint>(Size(k));
            return new RowTimes(origin, offsets, null, count);
        }
        var wide = new long[chunks][];
        for (var k = 0; k < chunks; k++) wide[k] = GC.AllocateUninitializedArray<long>(Size(k));
        return new RowTimes(0, null, wide, count);
    }

    public int Count { get; }

    public long this[int row]
    {
        get
        {
            if ((uint)row >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(row), $"row {row} outside 0..{Count - 1}");
            return _offsets != null ? Origin + _offsets[row >> Shift][row & Mask] : _wide![row >> Shift][row & Mask];
        }
    }

    /// <summary>Whether the times are stored as 4-byte offsets from <see cref="Origin"/>.</summary>
    public bool Narrow => _offsets != null;

    /// <summary>The value the offsets count from (0 when values are stored wide).</summary>
    internal long Origin { get; }

    internal IReadOnlyList<uint[]>? OffsetChunks => _offsets;
    internal IReadOnlyList<long[]>? WideChunks => _wide;

    /// <summary>
    /// Appends times one by one into a store sized up front, narrow when [min, max] spans at most
    /// 2^32 - 1 ms; chunks are allocated as they fill.
    /// </summary>
    public sealed class Builder
    {
        private readonly int _count;
        private readonly long _origin;
        private readonly uint[][]? _offsets;
        private readonly long[][]? _wide;
        private readonly long _min, _max;
        private int _n;

        /// <param name="count">how many times will be added.</param>
        /// <param name="min">the smallest of them (any value when count is 0).</param>
        /// <param name="max">the largest of them.</param>
        public Builder(int count, long min, long max)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            if (count > 0 && max < min) throw new ArgumentException($"max {max} < min {min}");
            _count = count;
            var chunks = (int)(((long)count + Mask) >> Shift);
            if (count == 0 || (ulong)(max - min) <= uint.MaxValue)
            {
                _origin = count == 0 ? 0 : min;
                _offsets = new uint[chunks][];
            }
            else
            {
                _wide = new long[chunks][];
            }
            (_min, _max) = count == 0 ? (0L, 0L) : (min, max);
        }

        public void Add(long t)
        {
            if (_n == _count) throw new InvalidOperationException($"more than the {_count} times announced");
            if (t < _min || t > _max) throw new ArgumentOutOfRangeException(nameof(t), $"{t} outside the announced range");
            var k = _n >> Shift;
            if (_offsets != null)
            {
                _offsets[k] ??= GC.AllocateUninitializedArray<uint>(Math.Min(ChunkRows, _count - (k << Shift)));
                _offsets[k][_n & Mask] = (uint)(t - _origin);
            }
            else
            {
                _wide![k] ??= GC.AllocateUninitializedArray<long>(Math.Min(ChunkRows, _count - (k << Shift)));
                _wide[k][_n & Mask] = t;
            }
            _n++;
        }

        public RowTimes Finish()
        {
            if (_n != _count) throw new InvalidOperationException($"{_n} of the {_count} announced times were added");
            return new RowTimes(_offsets != null ? _origin : 0, _offsets, _wide, _count);
        }
    }
}
