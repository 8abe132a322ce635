using System.Text.RegularExpressions;
using DynRec.Interop;

namespace DynRec.Layers;

/// <summary>
/// The native TBE layout of a list of embedding fields, as the C ABI takes it:
/// one table per field unless it shares an earlier field's
/// (<see cref="EmbeddingFieldConfig.SharesTableWith"/>), tables back to back
/// in field order (<see cref="TableOffsets"/>, for a one-buffer layout), each
/// field's table index, bag size, pooling and output column. Shared by the
/// one-buffer <see cref="TableBatchedEmbedding"/> and the per-table lookup of
/// <see cref="FeatureEmbeddings"/>.
/// </summary>
internal sealed class TableBatchLayout
{
    private readonly long[] _tableRows, _tableDims, _tableOffsets, _fieldTable, _bagSizes, _colOffsets;
    private readonly int[] _pooling;

    public TableBatchLayout(IReadOnlyList<EmbeddingFieldConfig> fields)
    {
        if (fields.Count == 0) throw new ArgumentException("at least one field is needed", nameof(fields));
        Fields = fields.ToArray();
        var rows = new List<long>();
        var dims = new List<long>();
        var offsets = new List<long>();
        var tableOfField = new Dictionary<string, long>();
        _fieldTable = new long[Fields.Count];
        _bagSizes = new long[Fields.Count];
        _pooling = new int[Fields.Count];
        _colOffsets = new long[Fields.Count];
        long numel = 0, width = 0;
        for (var f = 0; f < Fields.Count; f++)
        {
            var c = Fields[f];
            if (tableOfField.ContainsKey(c.Name)) throw new ArgumentException($"field '{c.Name}' appears twice", nameof(fields));
            if (c.VocabularySize < 2) throw new ArgumentException($"field '{c.Name}': vocabulary size must be >= 2 (id 0 is padding)", nameof(fields));
            if (c.Dim < 1) throw new ArgumentException($"field '{c.Name}': dim must be >= 1", nameof(fields));
            if (c.BagSize < 1) throw new ArgumentException($"field '{c.Name}': bag size must be >= 1", nameof(fields));
            long table;
            if (c.SharesTableWith is { } shared)
            {
                if (!tableOfField.TryGetValue(shared, out table))
                    throw new ArgumentException($"field '{c.Name}' shares the table of '{shared}', which is not an earlier field", nameof(fields));
                if (rows[(int)table] != c.VocabularySize || dims[(int)table] != c.Dim)
                    throw new ArgumentException($"field '{c.Name}' shares the table of '{shared}' but its vocabulary/dim differ", nameof(fields));
            }
            else
            {
                table = rows.Count;
                rows.Add(c.VocabularySize);
                dims.Add(c.Dim);
                offsets.Add(numel);
                numel += c.VocabularySize * c.Dim;
            }
            tableOfField[c.Name] = table;
            _fieldTable[f] = table;
            _bagSizes[f] = c.BagSize;
            _pooling[f] = (int)c.Pooling;
            _colOffsets[f] = width;
            width += c.Pooling == EmbeddingPooling.None ? c.BagSize * c.Dim : c.Dim;
        }
        _tableRows = rows.ToArray();
        _tableDims = dims.ToArray();
        _tableOffsets = offsets.ToArray();
        TotalElements = numel;
        OutputWidth = width;
        Slots = _bagSizes.Sum();
    }

    public IReadOnlyList<EmbeddingFieldConfig> Fields { get; }
    public int TableCount => _tableRows.Length;
    public int FieldCount => Fields.Count;
    /// <summary>Elements of all tables together.</summary>
    public long TotalElements { get; }
    /// <summary>W: output columns.</summary>
    public long OutputWidth { get; }
    /// <summary>S: id columns of the input.</summary>
    public long Slots { get; }

    // The C ABI's layout arrays (pinned by the caller with `fixed`).
    public long[] TableRows => _tableRows;
    public long[] TableDims => _tableDims;
    public long[] TableOffsets => _tableOffsets;
    public long[] FieldTable => _fieldTable;
    public long[] BagSizes => _bagSizes;
    public int[] Pooling => _pooling;

    public long TotalRows => _tableRows.Sum();
    public long ColumnOffset(int field) => _colOffsets[field];
    public long TableOf(int field) => _fieldTable[field];

    public int FieldIndex(string field)
    {
        for (var f = 0; f < Fields.Count; f++)
            if (Fields[f].Name == field) return f;
        throw new KeyNotFoundException($"no embedding field '{field}'");
    }

    /// <summary>Scratch bytes of a TBE call on <paramref name="device"/> (0 on the CPU).</summary>
    public unsafe long WorkspaceBytes(int device, long batch)
    {
        long bytes;
        fixed (long* bags = _bagSizes)
            Native.Check(Methods.TbeWorkspaceSize(device, _tableRows.Length, Fields.Count, bags, batch, &bytes));
        return bytes;
    }

    private static readonly Regex FieldInMessage = new(@"field (\d+) \(table \d+\)");

    /// <summary>Turns the native "field 3 (table 2): ..." into a message naming the field.</summary>
    public Exception NamedIdError(DynRecArgumentException e)
    {
        var match = FieldInMessage.Match(e.Message);
        if (!match.Success) return e;
        var f = int.Parse(match.Groups[1].Value);
        return new ArgumentException($"invalid id for embedding field '{Fields[f].Name}' (vocabulary {Fields[f].VocabularySize}): {e.Message}", "ids", e);
    }
}
