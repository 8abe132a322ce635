using System.Globalization;

namespace DynRec.Data.KuaiRand;

/// <summary>A categorical column of a side table: a string code per table row (-1 = missing).</summary>
internal sealed class CategoricalColumn
{
    public CategoricalColumn(string name) => Name = name;

    public string Name { get; }
    public StringCodes Values { get; } = new();
    public GrowList<int> Codes { get; } = new(1024);

    /// <summary>
    /// Label encoding with the vocabulary of the values seen on rows in
    /// <paramref name="used"/> (the train rows' entities): ids 1..n in ordinal
    /// order of the values, 0 = missing or unseen. With <paramref name="fitted"/>
    /// (a vocabulary learned on other data) the ids are those of that vocabulary.
    /// Returns the vocabulary too (the value of id k at index k - 1).
    /// </summary>
    public (int[] Ids, int VocabularySize, string[] Vocabulary) Encode(bool[] used, string[]? fitted = null)
    {
        var codes = Codes.Span;
        var seen = new bool[Values.Count];
        if (fitted == null)
            for (var r = 0; r < codes.Length; r++)
                if (used[r] && codes[r] >= 0) seen[codes[r]] = true;
        var (idOfCode, vocabulary) = IdsOfCodes(Values, seen, fitted);
        var result = new int[codes.Length];
        for (var r = 0; r < codes.Length; r++) result[r] = codes[r] < 0 ? 0 : idOfCode[codes[r]];
        return (result, vocabulary.Length + 1, vocabulary);
    }

    /// <summary>
    /// Each code's id under the vocabulary of the values marked in <paramref name="seen"/> (ids 1..n in ordinal
    /// order of the values; others 0), or under <paramref name="fitted"/> (then <paramref name="seen"/> is unused).
    /// </summary>
    public static (int[] IdOfCode, string[] Vocabulary) IdsOfCodes(StringCodes values, bool[] seen, string[]? fitted)
    {
        var idOfCode = new int[values.Count];
        if (fitted != null)
        {
            var ids = new Dictionary<string, int>(fitted.Length, StringComparer.Ordinal);
            for (var i = 0; i < fitted.Length; i++) ids[fitted[i]] = i + 1;
            for (var c = 0; c < values.Count; c++) idOfCode[c] = ids.GetValueOrDefault(values.Value(c));
            return (idOfCode, fitted);
        }
        var vocab = Enumerable.Range(0, values.Count).Where(c => seen[c]).OrderBy(values.Value, StringComparer.Ordinal).ToArray();
        for (var i = 0; i < vocab.Length; i++) idOfCode[vocab[i]] = i + 1;
        return (idOfCode, vocab.Select(values.Value).ToArray());
    }
}

/// <summary>A numeric column of a side table (NaN = missing), used through quantile buckets.</summary>
internal sealed class NumericColumn
{
    public const int Buckets = 10;

    public NumericColumn(string name) => Name = name;

    public string Name { get; }
    public GrowList<double> Values { get; } = new(1024);

    /// <summary>
    /// Bucket ids 1..10 by the deciles of the values on rows in
    /// <paramref name="used"/> (numpy's linear interpolation), or by
    /// <paramref name="fittedEdges"/> (learned on other data); a value v lands
    /// in 1 + #(edges &lt; v); missing -> 0. Vocabulary size 11. Returns the edges too.
    /// </summary>
    public (int[] Ids, double[] Edges) Bucketize(bool[] used, double[]? fittedEdges = null)
    {
        var values = Values.Span;
        var edges = fittedEdges ?? TrainEdges(values, used);
        var ids = new int[values.Length];
        for (var r = 0; r < values.Length; r++) ids[r] = BucketOf(values[r], edges);
        return (ids, edges);
    }

    /// <summary>A value's bucket id: 1 + #(edges &lt; v); NaN (missing) -> 0.</summary>
    public static int BucketOf(double v, double[] edges)
    {
        if (double.IsNaN(v)) return 0;
        var b = 0;
        while (b < edges.Length && edges[b] < v) b++;
        return b + 1;
    }

    private static double[] TrainEdges(ReadOnlySpan<double> values, bool[] used)
    {
        var train = new List<double>();
        for (var r = 0; r < values.Length; r++)
            if (used[r] && !double.IsNaN(values[r])) train.Add(values[r]);
        train.Sort();
        return EdgesOfSorted(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(train));
    }

    /// <summary>The 9 decile edges of ascending values (numpy's linear interpolation); all 0 when there are none.</summary>
    public static double[] EdgesOfSorted(ReadOnlySpan<double> sorted)
    {
        var edges = new double[Buckets - 1];
        for (var i = 1; i < Buckets; i++)
        {
            if (sorted.Length == 0) continue;
            var pos = i / (double)Buckets * (sorted.Length - 1);
            var lo = (int)Math.Floor(pos);
            var hi = Math.Min(lo + 1, sorted.Length - 1);
            edges[i - 1] = sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
        }
        return edges;
    }
}

/// <summary>
/// A side table keyed by an integer id (user_features, video_features_basic,
/// video_features_statistic), with the columns this loader uses. A table may
/// come in several part files (KuaiRand-27K), read in order as one table.
/// </summary>
internal sealed class FeatureTable
{
    private readonly Dictionary<long, int> _rowOfId = new();
    // First table row of each part file, to name the file of an earlier duplicate.
    private readonly List<int> _partStartRow = new();

    private FeatureTable(IReadOnlyList<string> paths) => Paths = paths;

    public IReadOnlyList<string> Paths { get; }
    public int Rows => _rowOfId.Count;
    public Dictionary<string, CategoricalColumn> Categoricals { get; } = new();
    public Dictionary<string, NumericColumn> Numerics { get; } = new();
    /// <summary>Raw integer columns (author_id).</summary>
    public Dictionary<string, GrowList<long>> Integers { get; } = new();

    public int RowOf(long id) => _rowOfId.TryGetValue(id, out var r) ? r : -1;

    /// <summary>Id -> table row (outlives the table's columns when kept on its own).</summary>
    public IReadOnlyDictionary<long, int> RowOfId => _rowOfId;

    /// <summary>How a categorical value is read before interning.</summary>
    public enum CategoricalKind { Plain, FirstTag, LiveStreamer, OneHot }

    /// <summary>One-hot column -> the value its missing cells were read as (max + 1, or the fitted fill).</summary>
    public Dictionary<string, string> MissingFill { get; } = new();

    /// <param name="fittedFill">one-hot column -> the value missing cells stand for, learned on other data
    /// (null: FunRec's max + 1 of this table).</param>
    public static FeatureTable Read(IReadOnlyList<string> paths, string idColumn, IReadOnlyList<string> requiredColumns,
        IReadOnlyList<(string Name, CategoricalKind Kind)> categoricals, IReadOnlyList<string> numerics,
        IReadOnlyList<string> integers, bool unescape, IReadOnlyDictionary<string, string>? fittedFill = null)
    {
        if (paths.Count == 0) throw new ArgumentException("a feature table needs at least one file", nameof(paths));
        var table = new FeatureTable(paths);
        var cats = categoricals.Select(c => (c.Kind, Column: new CategoricalColumn(c.Name))).ToArray();
        var nums = numerics.Select(n => new NumericColumn(n)).ToArray();
        var ints = integers.Select(_ => new GrowList<long>(1024)).ToArray();
        // One-hot columns: remember missing cells; they become max+1 once the max over all parts is known.
        var oneHotMissing = cats.Select(_ => new List<int>()).ToArray();
        var oneHotMax = cats.Select(_ => double.NegativeInfinity).ToArray();
        foreach (var path in paths)
        {
            table._partStartRow.Add(table.Rows);
            using var csv = CsvSource.Open(path, unescape);
            foreach (var c in requiredColumns) csv.Column(c);
            var cId = csv.Column(idColumn);
            var catCols = categoricals.Select(c => csv.Column(c.Name)).ToArray();
            var numCols = numerics.Select(csv.Column).ToArray();
            var intCols = integers.Select(csv.Column).ToArray();
            long rows = 0;
            foreach (var row in csv.Reader)
            {
                rows++;
                csv.CheckColumnCount(row);
                var id = csv.Long(row, cId);
                if (!table._rowOfId.TryAdd(id, table._rowOfId.Count))
                    throw csv.Bad(row, cId, $"duplicate {idColumn} {id}{table.EarlierPart(id, path)}");
                var r = table._rowOfId.Count - 1;
                for (var k = 0; k < cats.Length; k++)
                {
                    var (kind, column) = cats[k];
                    var col = catCols[k];
                    var s = row[col].Span.Trim();
                    switch (kind)
                    {
                        case CategoricalKind.FirstTag:
                            var comma = s.IndexOf(',');
                            if (comma >= 0) s = s[..comma].Trim();
                            break;
                        case CategoricalKind.LiveStreamer:
                            if (s.SequenceEqual("-124")) s = "0";  // KuaiRand's code for "no"
                            break;
                        case CategoricalKind.OneHot:
                            if (CsvSource.IsMissing(s))
                            {
                                oneHotMissing[k].Add(r);
                                column.Codes.Add(-1);
                                continue;
                            }
                            if (!CsvSource.TryParseDouble(s, out var v))
                                throw csv.Bad(row, col, $"'{s}' is not a number (one-hot features are numeric; empty or NaN = missing)");
                            oneHotMax[k] = Math.Max(oneHotMax[k], v);
                            break;
                    }
                    column.Codes.Add(CsvSource.IsMissing(s) ? -1 : column.Values.Code(s));
                }
                for (var k = 0; k < nums.Length; k++) nums[k].Values.Add(csv.NumberOrMissing(row, numCols[k]));
                for (var k = 0; k < ints.Length; k++) ints[k].Add(csv.IntegralNumber(row, intCols[k]));
            }
            if (rows == 0) throw new DataFormatException(path, 0, null, "file has a header but no data rows");
        }
        for (var k = 0; k < cats.Length; k++)
        {
            var column = cats[k].Column;
            if (cats[k].Kind == CategoricalKind.OneHot)
            {
                // FunRec fills a one-hot feature's missing values with max + 1 (a category of its own).
                var fill = fittedFill != null
                    ? fittedFill.TryGetValue(column.Name, out var f) ? f
                        : throw new InvalidDataException($"the feature encoding has no missing-value fill for '{column.Name}'")
                    : (double.IsNegativeInfinity(oneHotMax[k]) ? 0 : oneHotMax[k] + 1).ToString(CultureInfo.InvariantCulture);
                table.MissingFill[column.Name] = fill;
                if (oneHotMissing[k].Count > 0)
                {
                    var code = column.Values.Code(fill);
                    var codes = column.Codes.Span;
                    foreach (var r in oneHotMissing[k]) codes[r] = code;
                }
            }
            table.Categoricals[column.Name] = column;
        }
        foreach (var column in nums) table.Numerics[column.Name] = column;
        for (var k = 0; k < ints.Length; k++) table.Integers[integers[k]] = ints[k];
        return table;
    }

    /// <summary>" (first in FILE)" when an id repeats one from an earlier part file.</summary>
    private string EarlierPart(long id, string currentPath)
    {
        var row = _rowOfId[id];
        var part = _partStartRow.FindLastIndex(start => start <= row);
        var first = Paths[part];
        return first == currentPath ? "" : $" (first in {System.IO.Path.GetFileName(first)})";
    }
}
