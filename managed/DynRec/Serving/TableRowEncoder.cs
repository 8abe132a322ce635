using System.Globalization;
using DynRec.Data;
using DynRec.Data.KuaiRand;
using DynRec.Data.Table;

namespace DynRec.Serving;

/// <summary>
/// Encodes a table row given as cells (column -> CSV text) into a model's sparse ids, with the
/// encoding learned from the training table: a categorical cell by its vocabulary (an integer cell
/// also by its plain decimal form, as the loader compares integer ids: "7.0" is 7), a numeric cell
/// by its bucket edges, missing (null, empty, NaN) as 0. The scenario must be one the model has.
/// With a folder's user and item tables (<see cref="TableSideTable"/>), the features a request leaves out are
/// looked up by its user or item cell, as the loader joins them into the rows a file lacks them in; a
/// request's own cells win.
/// </summary>
internal sealed class TableRowEncoder
{
    private sealed record Field(string Name, Dictionary<string, int>? Ids, double[]? Edges)
    {
        public readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> Lookup = Ids?.GetAlternateLookup<ReadOnlySpan<char>>() ?? default;
    }

    private readonly Field[] _fields;
    private readonly int _scenarioPosition;
    private readonly string[] _scenarios;
    private readonly Dictionary<string, int> _position;
    private readonly Lookup[] _lookups;
    private readonly SequenceField? _history;
    private readonly int _historyField;  // the item field whose ids the history holds

    /// <summary>A user or item table as the model reads it: its key's field, and per model field it holds, the field and each code's id.</summary>
    private sealed record Lookup(TableSideTable Table, int KeyPosition, (int Position, TableSideTable.Column Column, int[]? IdOfCode)[] Fields);

    /// <param name="tables">user and item tables to fill the features a request leaves out (none: every cell in the request).</param>
    public TableRowEncoder(FeatureSchema schema, FeatureEncoding encoding, IReadOnlyList<TableSideTable>? tables = null)
    {
        _fields = schema.SparseFields.Select(f =>
        {
            if (encoding.BucketEdges.TryGetValue(f.Name, out var edges))
                return f.VocabularySize == NumericColumn.Buckets + 1 ? new Field(f.Name, null, edges)
                    : throw new InvalidDataException($"field '{f.Name}' has {f.VocabularySize} ids, but the encoding buckets it into {NumericColumn.Buckets}");
            var values = encoding.CategoriesOf(f.Name);
            return values.Length + 1 == f.VocabularySize ? new Field(f.Name, encoding.IdsOf(f.Name), null)
                : throw new InvalidDataException($"field '{f.Name}' has {f.VocabularySize} ids, but the encoding's vocabulary has {values.Length} values");
        }).ToArray();
        _scenarioPosition = schema.IndexOf(schema.ScenarioField);
        _scenarios = encoding.CategoriesOf(schema.ScenarioField);
        if (_scenarios.Length != schema.ScenarioCount)
            throw new InvalidDataException($"the model has {schema.ScenarioCount} scenarios, the encoding {_scenarios.Length}");
        Columns = _fields.Select(f => f.Name).ToArray();
        _history = schema.Sequence;
        _position = _fields.Select((f, k) => (f.Name, k)).ToDictionary(x => x.Name, x => x.k, StringComparer.Ordinal);
        _lookups = (tables ?? []).Select(ToLookup).Where(l => l.Fields.Length > 0).ToArray();
        _historyField = _history == null ? -1 : _position[_history.SharesVocabularyWith];
    }

    /// <summary>The history the model reads (its name, the item field whose ids it holds, its length), or null.</summary>
    public SequenceField? History => _history;

    /// <summary>
    /// The request's history as item ids, the first L (0-padded), or null when the model reads none; a history given
    /// to a model without one is an ArgumentException.
    /// </summary>
    public long[]? EncodeHistory(TableRequest request)
    {
        var items = request.History ?? throw new ArgumentException("history is null (use an empty list)");
        if (_history == null)
            return items.Count == 0 ? null : throw new ArgumentException("the model reads no history; leave it out");
        var ids = new long[_history.MaxLength];
        for (var k = 0; k < Math.Min(items.Count, ids.Length); k++) ids[k] = Id(_fields[_historyField], items[k].AsSpan().Trim());
        return ids;
    }

    private Lookup ToLookup(TableSideTable table)
    {
        if (!_position.TryGetValue(table.Key, out var key))
            throw new InvalidDataException($"the {table.Entity} table ({table.Name}) is keyed by '{table.Key}', which this model does not read; its columns: {string.Join(", ", Columns)}");
        var fields = table.Columns.Where(c => _position.ContainsKey(c.Name)).Select(c =>
        {
            var k = _position[c.Name];
            if (c.IsNumeric != (_fields[k].Edges != null))
                throw new InvalidDataException($"'{c.Name}' is {(c.IsNumeric ? "numeric" : "categorical")} in the {table.Entity} table's schema but {(c.IsNumeric ? "categorical" : "numeric")} in the model");
            // Each distinct value is encoded once; a row's id is then one array read.
            int[]? idOfCode = c.IsNumeric ? null : Enumerable.Range(0, c.Values.Count).Select(code => Id(_fields[k], c.Values.Value(code))).ToArray();
            return (k, c, idOfCode);
        }).ToArray();
        return new Lookup(table, key, fields);
    }

    /// <summary>The model's columns the user and item tables can fill, by table ("user: age, gender").</summary>
    public IEnumerable<string> TableColumns => _lookups.Select(l => $"{l.Table.Entity}: {string.Join(", ", l.Fields.Select(f => f.Column.Name))}");

    private long TableId(Lookup lookup, int row, int field)
    {
        if (row < 0) return 0;  // as the loader: an entity without a row has missing features
        var (position, column, idOfCode) = lookup.Fields[field];
        if (idOfCode == null) return NumericColumn.BucketOf(column.Numbers[row], _fields[position].Edges!);
        var code = column.Codes[row];
        return code < 0 ? 0 : idOfCode[code];
    }

    /// <summary>The columns a request must give, in the model's field order.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>
    /// Every candidate's ids, row-major [candidates x fields], and scenario index (the history: <see cref="EncodeHistory"/>). The context's cells are
    /// encoded once for all candidates. A request with an unknown, doubled or missing column, a numeric cell
    /// that is not a number or no known scenario is an ArgumentException saying so.
    /// </summary>
    public (long[] Ids, long[] Scenarios) Encode(TableRequest request)
    {
        if (request.Context == null) throw new ArgumentException("the context is null");
        if (request.Candidates == null || request.Candidates.Count == 0) throw new ArgumentException("no candidates");
        var f = _fields.Length;
        var context = new long[f];
        var contextGiven = new bool[f];
        foreach (var (name, cell) in request.Context)
        {
            var k = Position(name, "context");
            context[k] = EncodeCell(k, cell, "context");
            contextGiven[k] = true;
        }
        // A table keyed by a context cell (the user, usually) is looked up once per request.
        var contextRows = _lookups.Select(l => request.Context.TryGetValue(Columns[l.KeyPosition], out var key) ? l.Table.Find(key.AsSpan()) : -2).ToArray();
        var ids = new long[(long)request.Candidates.Count * f];
        var scenarios = new long[request.Candidates.Count];
        var given = new bool[f];
        for (var c = 0; c < request.Candidates.Count; c++)
        {
            var candidate = request.Candidates[c] ?? throw new ArgumentException($"candidate {c}: null, not cells");
            var row = ids.AsSpan(c * f, f);
            context.CopyTo(row);
            contextGiven.CopyTo(given, 0);
            foreach (var (name, cell) in candidate)
            {
                var k = Position(name, $"candidate {c}");
                if (contextGiven[k]) throw new ArgumentException($"candidate {c}: '{name}' is also in the context");
                row[k] = EncodeCell(k, cell, $"candidate {c}");
                given[k] = true;
            }
            for (var t = 0; t < _lookups.Length; t++)
            {
                var lookup = _lookups[t];
                var tableRow = contextRows[t] != -2 ? contextRows[t]
                    : candidate.TryGetValue(Columns[lookup.KeyPosition], out var key) ? lookup.Table.Find(key.AsSpan()) : -2;
                if (tableRow == -2) continue;  // no key: the missing columns are named below
                for (var j = 0; j < lookup.Fields.Length; j++)
                {
                    var k = lookup.Fields[j].Position;
                    if (given[k]) continue;
                    row[k] = TableId(lookup, tableRow, j);
                    given[k] = true;
                }
            }
            var missing = Array.IndexOf(given, false);
            if (missing >= 0)
                throw new ArgumentException($"candidate {c}: no '{Columns[missing]}' (give it in the context or the candidate; null for a missing value)");
            scenarios[c] = row[_scenarioPosition] - 1;
            if (scenarios[c] < 0)
            {
                var name = _fields[_scenarioPosition].Name;
                var cell = candidate.TryGetValue(name, out var own) ? own : request.Context[name];
                throw new ArgumentException(string.IsNullOrWhiteSpace(cell)
                    ? $"candidate {c}: no {name}; it picks the scenario's parameters"
                    : $"candidate {c}: {name} '{cell}' is not a scenario of this model; valid: {string.Join(", ", _scenarios)}");
            }
        }
        return (ids, scenarios);
    }

    private int Position(string name, string where) => _position.TryGetValue(name, out var k) ? k
        : throw new ArgumentException($"{where}: '{name}' is not a column of this model; its columns: {string.Join(", ", Columns)}");

    private long EncodeCell(int k, string? text, string where)
    {
        var f = _fields[k];
        var cell = text.AsSpan().Trim();
        if (f.Edges == null) return Id(f, cell);
        if (CsvSource.IsMissing(cell)) return 0;
        if (!CsvSource.TryParseDouble(cell, out var v)) throw new ArgumentException($"{where}: '{f.Name}' is '{cell}', not a number");
        return NumericColumn.BucketOf(v, f.Edges);
    }

    private static int Id(Field f, ReadOnlySpan<char> cell)
    {
        if (CsvSource.IsMissing(cell)) return 0;
        if (f.Lookup.TryGetValue(cell, out var id)) return id;
        // The loader compares integer ids as integers and keeps them in plain decimal ("7.0" and "007" are 7).
        if (CsvSource.TryParseDouble(cell, out var d) && d == Math.Floor(d) && Math.Abs(d) < 9.0e18)
            return f.Ids!.GetValueOrDefault(((long)d).ToString(CultureInfo.InvariantCulture));
        return 0;
    }
}
