using System.Runtime.CompilerServices;

namespace DynRec.Data.KuaiRand;

/// <summary>
/// An append-only column in fixed chunks of 2^20 items, for the log's per-row columns: it never
/// holds more than one partly filled chunk of slack and never copies on growth, where a doubling
/// array holds up to 2x its items and briefly 3x while it grows (a few GB at KuaiRand-27K's
/// 322M rows).
/// </summary>
internal sealed class ChunkedColumn<T> where T : unmanaged
{
    private const int Shift = 20, ChunkItems = 1 << Shift, Mask = ChunkItems - 1;
    private readonly List<T[]> _chunks = new();
    private T[] _tail = Array.Empty<T>();
    private int _tailCount;

    public int Count { get; private set; }

    public T this[int i]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(i));
            return _chunks[i >> Shift][i & Mask];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(T item)
    {
        if (_tailCount == _tail.Length)
        {
            if (Count == Array.MaxLength) throw new InvalidOperationException($"a column holds at most {Array.MaxLength} items");
            _tail = new T[ChunkItems];
            _chunks.Add(_tail);
            _tailCount = 0;
        }
        _tail[_tailCount++] = item;
        Count++;
    }

    /// <summary>Drops every item (and its memory).</summary>
    public void Clear()
    {
        _chunks.Clear();
        _tail = Array.Empty<T>();
        _tailCount = 0;
        Count = 0;
    }

    /// <summary>
    /// The items as one exact-size array, the column emptied; each chunk is released once copied, so
    /// the copy costs one chunk beyond the items themselves.
    /// </summary>
    public T[] TakeArray()
    {
        var items = GC.AllocateUninitializedArray<T>(Count);
        for (var k = 0; k < _chunks.Count; k++)
        {
            var start = k << Shift;
            _chunks[k].AsSpan(0, Math.Min(ChunkItems, Count - start)).CopyTo(items.AsSpan(start));
            _chunks[k] = null!;
        }
        Clear();
        return items;
    }
}
