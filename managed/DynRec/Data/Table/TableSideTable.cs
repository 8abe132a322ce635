using DynRec.Data.KuaiRand;

namespace DynRec.Data.Table;

/// <summary>
/// A table folder's user or item table (<see cref="TableSchema.UserTable"/>, <see cref="TableSchema.ItemTable"/>):
/// one row per entity, keyed by the impressions' id column (ids compared as <see cref="TableIdColumn"/> compares
/// them: 7 = "7.0" = "007", text by its trimmed text), holding those of the entity's features its header has
/// (categorical cells as string codes, numeric ones as numbers; missing = -1 / NaN). Several files are read
/// as one table; each must have the first one's feature columns. A key given twice is an error: a user has
/// one set of features.
/// </summary>
internal sealed class TableSideTable
{
    /// <summary>One feature column: per table row a code of <see cref="Values"/> (categorical) or a number (numeric).</summary>
    public sealed class Column(string name, bool numeric)
    {
        public string Name { get; } = name;
        public bool IsNumeric { get; } = numeric;
        public StringCodes Values { get; } = new();
        public GrowList<int> Codes { get; } = new(1024);
        public GrowList<double> Numbers { get; } = new(1024);
    }

    private readonly TableIdColumn _keys;
    private readonly Dictionary<string, Column> _byName;

    private TableSideTable(string entity, string key, IReadOnlyList<string> files, List<Column> columns)
    {
        Entity = entity;
        Key = key;
        Files = files;
        Columns = columns;
        _keys = new TableIdColumn(key);
        _byName = columns.ToDictionary(c => c.Name, StringComparer.Ordinal);
    }

    /// <summary>"user" or "item": what a row describes.</summary>
    public string Entity { get; }
    /// <summary>The key column (the schema's user or item column).</summary>
    public string Key { get; }
    public IReadOnlyList<string> Files { get; }
    /// <summary>The features it holds, in the schema's order.</summary>
    public IReadOnlyList<Column> Columns { get; }
    public int Rows => _keys.Count;

    /// <summary>The file to name in messages: the first (or only) one.</summary>
    public string Name => Files.Count == 1 ? Path.GetFileName(Files[0]) : $"{Path.GetFileName(Files[0])} (+{Files.Count - 1})";

    public Column? this[string feature] => _byName.GetValueOrDefault(feature);

    /// <summary>The row of an id cell, or -1 when the table has none.</summary>
    public int Find(ReadOnlySpan<char> id) => _keys.Find(id);

    /// <summary>
    /// Reads <paramref name="files"/> (none: null): the rows keyed by <paramref name="key"/>, the columns of
    /// <paramref name="features"/> the first file's header has (numeric when in <paramref name="numeric"/>).
    /// </summary>
    public static TableSideTable? Read(string entity, string key, IReadOnlyList<string> files, IReadOnlyList<string> features,
        IReadOnlySet<string> numeric, Action<string>? log = null)
    {
        if (files.Count == 0) return null;
        TableSideTable? table = null;
        foreach (var path in files)
        {
            using var csv = CsvSource.Open(path, unescape: true);
            table ??= new TableSideTable(entity, key, files,
                features.Where(csv.HasColumn).Select(f => new Column(f, numeric.Contains(f))).ToList());
            if (table.Columns.Count == 0)
                throw new DataFormatException(path, 1, null,
                    $"the {entity} table has none of the {entity} features ({string.Join(", ", features)}); it would add nothing");
            table.ReadFile(csv);
            log?.Invoke($"read {table.Rows:N0} {entity}s from {Path.GetFileName(path)}");
        }
        return table;
    }

    private void ReadFile(CsvSource csv)
    {
        var cKey = csv.Column(Key);
        var cols = Columns.Select(c => (Column: c, Index: csv.Column(c.Name))).ToArray();
        var rows = 0L;
        foreach (var row in csv.Reader)
        {
            rows++;
            csv.CheckColumnCount(row);
            if (!_keys.Add(csv, row, cKey))
                throw csv.Bad(row, cKey, $"{Entity} '{row[cKey].Span.Trim()}' has a second row; a {Entity} table holds one row per {Entity}");
            foreach (var (column, index) in cols)
                if (column.IsNumeric) column.Numbers.Add(csv.NumberOrMissing(row, index));
                else
                {
                    var v = row[index].Span.Trim();
                    column.Codes.Add(CsvSource.IsMissing(v) ? -1 : column.Values.Code(v));
                }
        }
        if (rows == 0) throw new DataFormatException(csv.Path, 0, null, "file has a header but no data rows");
    }
}
