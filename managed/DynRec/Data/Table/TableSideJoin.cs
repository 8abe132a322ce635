using DynRec.Data.KuaiRand;

namespace DynRec.Data.Table;

/// <summary>
/// Joins a user or item table into the impressions as they are read: each impression row gets its
/// entity's features from the table, appended to the log's feature columns exactly as if the impressions
/// file had carried them (so encoding, bucket edges and the cache see no difference). A feature an
/// impressions file has is read from the file: the table fills only what a file lacks (as a scoring
/// request's own cells win over the tables). An entity's table row is looked up once, when the entity
/// is first seen; an entity the table lacks gets missing values (id 0), and a table that matches none
/// of them is an error (ids written differently).
/// </summary>
internal sealed class TableSideJoin
{
    private readonly TableSideTable _table;
    private readonly TableIdColumn _ids;
    private readonly GrowList<int> _rowOfEntity = new(1024);  // per impression entity (dense index): its table row or -1
    private readonly (TableCategoricalColumn Target, int[] CodeOf, TableSideTable.Column Source)[] _categoricals;
    private readonly (TableNumericColumn Target, TableSideTable.Column Source)[] _numerics;

    public TableSideJoin(TableSideTable table, TableIdColumn ids, IReadOnlyDictionary<string, TableCategoricalColumn> categoricals,
        IReadOnlyDictionary<string, TableNumericColumn> numerics)
    {
        _table = table;
        _ids = ids;
        // The table's codes are translated once into the log column's codes, so a joined row costs two array reads.
        _categoricals = table.Columns.Where(c => !c.IsNumeric).Select(c =>
        {
            var target = categoricals[c.Name];
            var codeOf = new int[c.Values.Count];
            for (var k = 0; k < codeOf.Length; k++) codeOf[k] = target.Values.Code(c.Values.Value(k));
            return (target, codeOf, c);
        }).ToArray();
        _numerics = table.Columns.Where(c => c.IsNumeric).Select(c => (numerics[c.Name], c)).ToArray();
    }

    public TableSideTable Table => _table;

    /// <summary>The table's features, less those <paramref name="fileHas"/> (an impressions file's own columns).</summary>
    public FileJoin For(Func<string, bool> fileHas) => new(this,
        _categoricals.Where(c => !fileHas(c.Source.Name)).ToArray(), _numerics.Where(n => !fileHas(n.Source.Name)).ToArray());

    /// <summary>The join into one impressions file: the features it lacks.</summary>
    public sealed class FileJoin
    {
        private readonly TableSideJoin _join;
        private readonly (TableCategoricalColumn Target, int[] CodeOf, TableSideTable.Column Source)[] _categoricals;
        private readonly (TableNumericColumn Target, TableSideTable.Column Source)[] _numerics;

        internal FileJoin(TableSideJoin join, (TableCategoricalColumn, int[], TableSideTable.Column)[] categoricals,
            (TableNumericColumn, TableSideTable.Column)[] numerics)
        {
            _join = join;
            _categoricals = categoricals;
            _numerics = numerics;
        }

        /// <summary>Whether the table fills <paramref name="feature"/> in this file.</summary>
        public bool Fills(string feature) => _categoricals.Any(c => c.Source.Name == feature) || _numerics.Any(n => n.Source.Name == feature);

        /// <summary>Appends the features of the entity of the row just added to the id column (<paramref name="idCell"/>: its cell).</summary>
        public void AddRow(bool newEntity, ReadOnlySpan<char> idCell)
        {
            var rows = _join._rowOfEntity;
            if (newEntity) rows.Add(_join._table.Find(idCell));
            var ids = _join._ids.Rows;
            var row = rows[ids[ids.Count - 1]];
            foreach (var (target, codeOf, source) in _categoricals)
            {
                var code = row < 0 ? -1 : source.Codes[row];
                target.Rows.Add(code < 0 ? -1 : codeOf[code]);
            }
            foreach (var (target, source) in _numerics) target.Values.Add(row < 0 ? double.NaN : source.Numbers[row]);
        }
    }

    /// <summary>
    /// After every impression is read: logs how many entities the table matched; none matched is an error
    /// (the ids are likely written differently, "u7" against "7").
    /// </summary>
    public void Finish(Action<string>? log)
    {
        var entities = _rowOfEntity.Count;
        var missing = 0;
        foreach (var r in _rowOfEntity.Span)
            if (r < 0) missing++;
        var e = _table.Entity;
        if (entities > 0 && missing == entities)
            throw new DataFormatException(_table.Files[0], 0, _table.Key,
                $"none of the impressions' {entities:N0} {e}s has a row in the {e} table; are the ids written the same way? (impressions: '{_ids.Raw(0)}')");
        log?.Invoke($"{e} table {_table.Name}: {string.Join(", ", _table.Columns.Select(c => c.Name))} for {entities - missing:N0} of {entities:N0} {e}s"
            + (missing > 0 ? $" ({missing:N0} without a row: their {e} features are missing)" : ""));
    }
}
