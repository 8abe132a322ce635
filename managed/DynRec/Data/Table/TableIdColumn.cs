using System.Globalization;
using System.Runtime.InteropServices;
using DynRec.Data.KuaiRand;
using nietras.SeparatedValues;

namespace DynRec.Data.Table;

/// <summary>
/// A table's user, item or scenario column: per row its entity (a dense index, in first-seen order),
/// per entity its raw id. A cell that is an integer is compared as one ("7", "7.0" and "007" are one id);
/// any other cell as its trimmed text ("u_81f3", "home"). A column whose every cell is an integer has
/// integer ids; one with any text has text ids, each written as first seen. Empty cells are errors.
/// </summary>
internal sealed class TableIdColumn
{
    private readonly Dictionary<long, int> _byNumber = new();
    private readonly Dictionary<string, int> _byText = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _textLookup;
    private readonly GrowList<long> _number = new(1024);  // per entity; 0 for a text one
    // Per entity, its text when that is not the integer's plain decimal form (text ids, "007", "7.0"); else null.
    private readonly List<string?> _text = new();

    public TableIdColumn(string name)
    {
        Name = name;
        _textLookup = _byText.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public string Name { get; }
    /// <summary>Each row's entity.</summary>
    public ChunkedColumn<int> Rows { get; } = new();
    public int Count => _text.Count;
    /// <summary>Whether any id is text (then every id is read as its text).</summary>
    public bool HasText => _byText.Count > 0;

    /// <summary>Reads the row's cell; returns whether it is an id not seen before.</summary>
    public bool Add(CsvSource csv, in SepReader.Row row, int col)
    {
        var cell = row[col].Span.Trim();
        if (CsvSource.IsMissing(cell))
            throw csv.Bad(row, col, cell.IsEmpty ? $"{Name} is empty; every row needs one" : $"{Name} is '{cell}', a missing value; every row needs one");
        var before = Count;
        Rows.Add(Intern(cell));
        return Count > before;
    }

    /// <summary>The entity of an id cell compared as <see cref="Add"/> compares them (7 = "7.0" = "007"), or -1 when unseen.</summary>
    public int Find(ReadOnlySpan<char> cell)
    {
        cell = cell.Trim();
        if (IntegerOf(cell, out var number)) return _byNumber.TryGetValue(number, out var e) ? e : -1;
        return _textLookup.TryGetValue(cell, out var entity) ? entity : -1;
    }

    private int Intern(ReadOnlySpan<char> cell)
    {
        if (IntegerOf(cell, out var number))
        {
            ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_byNumber, number, out var exists);
            if (!exists)
            {
                slot = Count;
                _number.Add(number);
                _text.Add(cell.SequenceEqual(number.ToString(CultureInfo.InvariantCulture)) ? null : cell.ToString());
            }
            return slot;
        }
        if (_textLookup.TryGetValue(cell, out var entity)) return entity;
        var text = cell.ToString();
        _byText[text] = Count;
        _number.Add(0);
        _text.Add(text);
        return Count - 1;
    }

    private static bool IntegerOf(ReadOnlySpan<char> s, out long value)
    {
        if (CsvSource.TryParseLong(s, out value)) return true;
        if (CsvSource.TryParseDouble(s, out var d) && d == Math.Floor(d) && Math.Abs(d) < 9.0e18)
        {
            value = (long)d;
            return true;
        }
        return false;
    }

    public RawId Raw(int entity) => HasText
        ? RawId.Of(_text[entity] ?? _number[entity].ToString(CultureInfo.InvariantCulture))
        : RawId.Of(_number[entity]);

    /// <summary>Every entity's raw id: integers, or text when any id is text.</summary>
    public RawIds RawValues() => HasText
        ? new RawIds(Enumerable.Range(0, Count).Select(e => Raw(e).Text!).ToArray())
        : new RawIds(_number.ToArray());

    /// <summary>
    /// Each entity's id (0 = not in the vocabulary): learned from the entities marked in <paramref name="inTrain"/>,
    /// ids 1..n in ascending order of the integer (integer ids) or ordinal order of the text (text ids); or the ids of
    /// <paramref name="fitted"/>'s vocabulary, matched by the id as written to files (decimal or text). Returns the
    /// vocabulary too (the raw id of id k at index k - 1, as text).
    /// </summary>
    public int[] Encode(bool[] inTrain, FeatureEncoding? fitted, out string[] vocabulary)
    {
        var ids = new int[Count];
        if (fitted != null)
        {
            var idOfText = fitted.IdsOf(Name);
            for (var e = 0; e < ids.Length; e++) ids[e] = idOfText.GetValueOrDefault(Raw(e).ToString());
            vocabulary = fitted.CategoriesOf(Name);
            return ids;
        }
        var train = Enumerable.Range(0, Count).Where(e => inTrain[e]);
        var order = HasText
            ? train.Select(e => (Entity: e, Text: Raw(e).Text!)).OrderBy(x => x.Text, StringComparer.Ordinal).Select(x => x.Entity).ToArray()
            : train.OrderBy(e => _number[e]).ToArray();
        vocabulary = new string[order.Length];
        for (var i = 0; i < order.Length; i++)
        {
            ids[order[i]] = i + 1;
            vocabulary[i] = Raw(order[i]).ToString();
        }
        return ids;
    }
}
