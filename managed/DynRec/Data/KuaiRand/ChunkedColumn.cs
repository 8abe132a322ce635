using System.Runtime.CompilerServices;

namespace DynRec.Data.KuaiRand;

/// <summary>
/// An append-only column in fixed chunks of 2^20 items, for the log's per-row columns: it never
/// holds more than one partly filled chunk of slack, never copies on growth (a doubling array
/// holds up to 2x its items, briefly 3x while it grows) and never needs one contiguous block of
/// memory (KuaiRand-27K's 322M rows make GB-sized columns). A consumer reading the rows in order
/// releases each chunk once it is done with it (<see cref="ReleaseChunk"/>).
/// </summary>
internal sealed class ChunkedColumn<T> where T : unmanaged
{
    public const int Shift = 20, ChunkItems = 1 << Shift, Mask = ChunkItems - 1;
    private readonly List<T[]?> _chunks = new();
    private T[] _tail = Array.Empty<T>();
    private int _tailCount;
    private bool _released;

    public int Count { get; private set; }

    /// <summary>Chunks holding items 0..Count-1 (released ones included).</summary>
    public int ChunkCount => _chunks.Count;

    public T this[int i]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(i));
            var chunk = _chunks[i >> Shift] ?? throw Released(i);
            return chunk[i & Mask];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(T item)
    {
        if (_tailCount == _tail.Length)
        {
            if (_released) throw new InvalidOperationException("a column is append-only until its first chunk is released");
            if (Count == Array.MaxLength) throw new InvalidOperationException($"a column holds at most {Array.MaxLength} items");
            _tail = new T[ChunkItems];
            _chunks.Add(_tail);
            _tailCount = 0;
        }
        _tail[_tailCount++] = item;
        Count++;
    }

    /// <summary>The filled items of chunk <paramref name="chunk"/>, to read or rewrite in place.</summary>
    public Span<T> ChunkSpan(int chunk)
    {
        var items = _chunks[chunk] ?? throw Released(chunk << Shift);
        return items.AsSpan(0, Math.Min(ChunkItems, Count - (chunk << Shift)));
    }

    /// <summary>Drops the memory of chunk <paramref name="chunk"/> (items chunk·2^20 ..); reading them afterwards throws.</summary>
    public void ReleaseChunk(int chunk)
    {
        _chunks[chunk] = null;
        _tail = Array.Empty<T>();
        _tailCount = 0;
        _released = true;
    }

    /// <summary>Drops every item (and its memory).</summary>
    public void Clear()
    {
        _chunks.Clear();
        _tail = Array.Empty<T>();
        _tailCount = 0;
        _released = false;
        Count = 0;
    }

    private static InvalidOperationException Released(int i) => new($"item {i} was read after its chunk was released");
}
