namespace DynRec.Metrics;

/// <summary>
/// Exact ROC AUC: the probability that a random positive scores above a random
/// negative, ties counted one half (the Mann-Whitney U statistic over average
/// ranks). Sort-based, O(n log n), accumulated in double precision.
/// Undefined (NaN) when the labels hold only one class.
/// </summary>
public static class Auc
{
    /// <summary>AUC of <paramref name="scores"/> against 0/1 <paramref name="labels"/> (a label &gt; 0.5 is positive).</summary>
    public static double Compute(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels)
    {
        if (scores.Length != labels.Length)
            throw new ArgumentException($"scores ({scores.Length}) and labels ({labels.Length}) differ in length");
        var keys = new double[scores.Length];
        var positive = new bool[scores.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = scores[i];
            positive[i] = labels[i] > 0.5f;
        }
        return ComputeInPlace(keys, positive);
    }

    /// <summary>As <see cref="Compute"/>, sorting the caller's arrays in place (no copies).</summary>
    public static double ComputeInPlace(double[] scores, bool[] positive) =>
        ComputeInPlace(scores.AsSpan(), positive.AsSpan());

    public static double ComputeInPlace(Span<double> scores, Span<bool> positive)
    {
        if (scores.Length != positive.Length)
            throw new ArgumentException($"scores ({scores.Length}) and labels ({positive.Length}) differ in length");
        foreach (var s in scores)
            if (double.IsNaN(s)) throw new ArgumentException("a score is NaN; AUC needs comparable scores");
        scores.Sort(positive);
        long nPos = 0;
        double rankSumPos = 0;
        for (var start = 0; start < scores.Length;)
        {
            var end = start + 1;
            while (end < scores.Length && scores[end] == scores[start]) end++;
            // Ranks start+1..end share their average rank.
            var averageRank = (start + 1 + end) / 2.0;
            for (var i = start; i < end; i++)
                if (positive[i]) { nPos++; rankSumPos += averageRank; }
            start = end;
        }
        long nNeg = scores.Length - nPos;
        if (nPos == 0 || nNeg == 0) return double.NaN;
        return (rankSumPos - nPos * (nPos + 1) / 2.0) / ((double)nPos * nNeg);
    }
}
