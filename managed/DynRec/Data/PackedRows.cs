using System.Runtime.CompilerServices;

namespace DynRec.Data;

/// <summary>
/// Fixed-width integer records, one per row, each column stored as (value - min) in 1, 2 or 4
/// bytes by its declared range, record after record. The bytes live in chunks of 2^k rows, so a
/// store is not bound by .NET's 2^31-element array limit: a KuaiRand-27K train split (~310M rows)
/// is ~5.6 GB of 18-byte records here, where int32 records (44 bytes a row) could not even be
/// allocated as one array.
/// </summary>
public sealed class PackedRows
{
    /// <summary>The values a column may hold, inclusive.</summary>
    public readonly record struct ColumnRange(int Min, int Max)
    {
        /// <summary>Bytes per value: 1, 2 or 4.</summary>
        public int Width => (long)Max - Min <= byte.MaxValue ? 1 : (long)Max - Min <= ushort.MaxValue ? 2 : 4;
    }

    /// <summary>Rows per chunk: 2^20 (18 MB of 18-byte records), small enough for the GC's large-object heap to reuse.</summary>
    internal const int DefaultChunkRowsLog2 = 20;

    private readonly ColumnRange[] _ranges;
    private readonly int[] _offsets;
    private readonly byte[] _widths;
    private readonly byte[][] _chunks;
    private readonly int _shift;
    private readonly int _mask;

    /// <param name="rows">number of records (each column at its minimum until written).</param>
    /// <param name="ranges">one per column; every value later stored must lie in its column's range.</param>
    /// <param name="chunkRowsLog2">rows per chunk as a power of two (tests use small chunks to cross their edges).</param>
    public PackedRows(int rows, IReadOnlyList<ColumnRange> ranges, int chunkRowsLog2 = DefaultChunkRowsLog2)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (ranges.Count == 0) throw new ArgumentException("a record needs at least one column", nameof(ranges));
        if (chunkRowsLog2 is < 0 or > 24) throw new ArgumentOutOfRangeException(nameof(chunkRowsLog2));
        _ranges = ranges.ToArray();
        _offsets = new int[_ranges.Length];
        _widths = new byte[_ranges.Length];
        for (var c = 0; c < _ranges.Length; c++)
        {
            if (_ranges[c].Max < _ranges[c].Min)
                throw new ArgumentException($"column {c}: range {_ranges[c].Min}..{_ranges[c].Max} is empty", nameof(ranges));
            _offsets[c] = RecordBytes;
            _widths[c] = (byte)_ranges[c].Width;
            RecordBytes += _widths[c];
        }
        Rows = rows;
        // A chunk is one byte array: wide records get fewer rows per chunk.
        while (chunkRowsLog2 > 0 && ((long)RecordBytes << chunkRowsLog2) > Array.MaxLength) chunkRowsLog2--;
        _shift = chunkRowsLog2;
        _mask = (1 << chunkRowsLog2) - 1;
        // Chunks are allocated on their first write (or read of the bytes), so a store filled in row
        // order grows as it fills, beside inputs that can be released as they are consumed.
        _chunks = new byte[(int)(((long)rows + _mask) >> _shift)][];
    }

    public int Rows { get; }
    public int Columns => _ranges.Length;

    /// <summary>Bytes per record.</summary>
    public int RecordBytes { get; }

    /// <summary>Bytes held by the records.</summary>
    public long Bytes => (long)Rows * RecordBytes;

    public ColumnRange RangeOf(int column) => _ranges[column];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Get(int row, int column)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), $"row {row} outside 0..{Rows - 1}");
        return Read(ChunkOf(row), (row & _mask) * RecordBytes, column);
    }

    /// <summary>Every column of a row into <paramref name="values"/> (length ≥ Columns).</summary>
    public void GetRecord(int row, Span<int> values)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), $"row {row} outside 0..{Rows - 1}");
        var chunk = ChunkOf(row);
        var start = (row & _mask) * RecordBytes;
        for (var c = 0; c < _ranges.Length; c++) values[c] = Read(chunk, start, c);
    }

    public void Set(int row, int column, int value)
    {
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), $"row {row} outside 0..{Rows - 1}");
        var range = _ranges[column];
        if (value < range.Min || value > range.Max)
            throw new ArgumentOutOfRangeException(nameof(value), $"column {column}: {value} outside its range {range.Min}..{range.Max}");
        var chunk = ChunkOf(row);
        var p = (row & _mask) * RecordBytes + _offsets[column];
        var v = unchecked((uint)(value - range.Min));
        switch (_widths[column])
        {
            case 1: chunk[p] = (byte)v; break;
            case 2: Unsafe.WriteUnaligned(ref chunk[p], (ushort)v); break;
            default: Unsafe.WriteUnaligned(ref chunk[p], v); break;
        }
    }

    public void SetRecord(int row, ReadOnlySpan<int> values)
    {
        if (values.Length != _ranges.Length) throw new ArgumentException($"a record has {_ranges.Length} columns, got {values.Length}", nameof(values));
        for (var c = 0; c < values.Length; c++) Set(row, c, values[c]);
    }

    /// <summary>The smallest and largest value a column holds over all rows (null when there are no rows).</summary>
    public ColumnRange? ObservedRange(int column)
    {
        if (Rows == 0) return null;
        int min = int.MaxValue, max = int.MinValue;
        for (var k = 0; k < _chunks.Length; k++)
        {
            var chunk = Chunk(k);
            for (var p = 0; p < chunk.Length; p += RecordBytes)
            {
                var v = Read(chunk, p, column);
                if (v < min) min = v;
                if (v > max) max = v;
            }
        }
        return new ColumnRange(min, max);
    }

    /// <summary>The record bytes, chunk by chunk, in row order (for the binary cache; allocates unwritten chunks).</summary>
    internal IReadOnlyList<byte[]> Chunks => Enumerable.Range(0, _chunks.Length).Select(Chunk).ToArray();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte[] ChunkOf(int row) => _chunks[row >> _shift] ?? Chunk(row >> _shift);

    private byte[] Chunk(int k) => _chunks[k] ??= new byte[Math.Min(1 << _shift, Rows - (k << _shift)) * RecordBytes];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Read(byte[] chunk, int recordStart, int column)
    {
        var p = recordStart + _offsets[column];
        var min = _ranges[column].Min;
        return _widths[column] switch
        {
            1 => min + chunk[p],
            2 => min + Unsafe.ReadUnaligned<ushort>(ref chunk[p]),
            _ => unchecked(min + (int)Unsafe.ReadUnaligned<uint>(ref chunk[p])),
        };
    }
}
