using DynRec.Data.KuaiRand;

namespace DynRec.Data.Table;

/// <summary>
/// A table's categorical feature: per row a string code (-1 = missing) in 2^20-row chunks, encoded
/// in place into ids, so a column costs 4 bytes a row at every stage (no doubling slack, no copy).
/// </summary>
internal sealed class TableCategoricalColumn(string name)
{
    public string Name { get; } = name;
    public StringCodes Values { get; } = new();
    public ChunkedColumn<int> Rows { get; } = new();

    /// <summary>
    /// Rewrites every row's code as its id: 1..n in ordinal order of the values seen on train rows
    /// (<paramref name="isTrain"/>), or the ids of <paramref name="fitted"/>; 0 = missing or unseen.
    /// Returns the vocabulary (the value of id k at index k - 1).
    /// </summary>
    public string[] EncodeInPlace(bool[] isTrain, string[]? fitted)
    {
        var seen = new bool[Values.Count];
        if (fitted == null)
            for (var c = 0; c < Rows.ChunkCount; c++)
            {
                var codes = Rows.ChunkSpan(c);
                var first = c << ChunkedColumn<int>.Shift;
                for (var i = 0; i < codes.Length; i++)
                    if (isTrain[first + i] && codes[i] >= 0) seen[codes[i]] = true;
            }
        var (idOfCode, vocabulary) = CategoricalColumn.IdsOfCodes(Values, seen, fitted);
        for (var c = 0; c < Rows.ChunkCount; c++)
        {
            var codes = Rows.ChunkSpan(c);
            for (var i = 0; i < codes.Length; i++) codes[i] = codes[i] < 0 ? 0 : idOfCode[codes[i]];
        }
        return vocabulary;
    }
}

/// <summary>
/// A table's numeric feature: per row a value (NaN = missing) in 2^20-row chunks, cut into bucket ids
/// chunk by chunk, each chunk of values released once converted.
/// </summary>
internal sealed class TableNumericColumn(string name)
{
    public string Name { get; } = name;
    public ChunkedColumn<double> Values { get; } = new();

    /// <summary>
    /// Bucket ids 1..10 at the deciles of the train rows' values (<paramref name="isTrain"/>) or at
    /// <paramref name="fittedEdges"/>; missing -> 0. The values are gone afterwards. Returns the edges too.
    /// </summary>
    public (ChunkedColumn<int> Ids, double[] Edges) Bucketize(bool[] isTrain, double[]? fittedEdges)
    {
        var edges = fittedEdges ?? TrainEdges(isTrain);
        var ids = new ChunkedColumn<int>();
        for (var c = 0; c < Values.ChunkCount; c++)
        {
            foreach (var v in Values.ChunkSpan(c)) ids.Add(NumericColumn.BucketOf(v, edges));
            Values.ReleaseChunk(c);
        }
        return (ids, edges);
    }

    private double[] TrainEdges(bool[] isTrain)
    {
        var count = 0;
        ForEachTrainValue(isTrain, _ => count++);
        var train = new double[count];
        var n = 0;
        ForEachTrainValue(isTrain, v => train[n++] = v);
        Array.Sort(train);
        return NumericColumn.EdgesOfSorted(train);
    }

    private void ForEachTrainValue(bool[] isTrain, Action<double> use)
    {
        for (var c = 0; c < Values.ChunkCount; c++)
        {
            var values = Values.ChunkSpan(c);
            var first = c << ChunkedColumn<double>.Shift;
            for (var i = 0; i < values.Length; i++)
                if (isTrain[first + i] && !double.IsNaN(values[i])) use(values[i]);
        }
    }
}
