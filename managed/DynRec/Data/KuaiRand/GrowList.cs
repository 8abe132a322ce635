using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DynRec.Data.KuaiRand;

/// <summary>An append-only array that doubles; no per-item allocation.</summary>
internal sealed class GrowList<T> where T : unmanaged
{
    private T[] _items;

    public GrowList(int capacity = 1 << 16) => _items = new T[Math.Max(16, capacity)];

    public int Count { get; private set; }

    public Span<T> Span => _items.AsSpan(0, Count);

    public T this[int i] => _items[i];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(T item)
    {
        if (Count == _items.Length) Array.Resize(ref _items, checked(_items.Length * 2));
        _items[Count++] = item;
    }

    public T[] ToArray() => Span.ToArray();

    /// <summary>
    /// The items as an exact-size array, the list emptied: its buffer (with up to 2x doubling slack) is
    /// handed over or dropped rather than kept beside a copy.
    /// </summary>
    public T[] TakeArray()
    {
        var items = Count == _items.Length ? _items : Span.ToArray();
        _items = new T[16];
        Count = 0;
        return items;
    }
}

/// <summary>Maps raw 64-bit ids to dense indices 0..Count-1 in first-seen order.</summary>
internal sealed class IdInterner
{
    private readonly Dictionary<long, int> _index = new();
    private readonly GrowList<long> _raw = new(1024);

    public int Count => _raw.Count;

    public int Intern(long raw)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_index, raw, out var exists);
        if (!exists)
        {
            slot = _raw.Count;
            _raw.Add(raw);
        }
        return slot;
    }

    public long Raw(int dense) => _raw[dense];

    /// <summary>The raw value of every dense index (a new array).</summary>
    public long[] RawValues() => _raw.ToArray();
}

/// <summary>Maps string values (looked up by span, no allocation on a hit) to codes 0..Count-1.</summary>
internal sealed class StringCodes
{
    private readonly Dictionary<string, int> _codes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly List<string> _values = new();

    public StringCodes() => _lookup = _codes.GetAlternateLookup<ReadOnlySpan<char>>();

    public int Count => _values.Count;

    public string Value(int code) => _values[code];

    public int Code(ReadOnlySpan<char> value)
    {
        if (_lookup.TryGetValue(value, out var code)) return code;
        var s = value.ToString();
        code = _values.Count;
        _values.Add(s);
        _codes[s] = code;
        return code;
    }
}
