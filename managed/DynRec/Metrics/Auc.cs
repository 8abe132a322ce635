namespace DynRec.Metrics;

/// <summary>
/// Exact ROC AUC: the probability that a random positive scores above a random
/// negative, ties counted one half (the Mann-Whitney U statistic over average
/// ranks). Sort-based, O(n log n), accumulated in double precision.
/// Undefined (NaN) when the labels hold only one class.
/// </summary>
/// <remarks>
/// Each (score, label) pair is packed into one ulong whose order is the score's
/// order (<see cref="Pack"/>), so the sort is a plain primitive sort with no
/// item array to move along: several times faster on millions of rows.
/// </remarks>
public static class Auc
{
    /// <summary>AUC of <paramref name="scores"/> against 0/1 <paramref name="labels"/> (a label &gt; 0.5 is positive).</summary>
    public static double Compute(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels)
    {
        if (scores.Length != labels.Length)
            throw new ArgumentException($"scores ({scores.Length}) and labels ({labels.Length}) differ in length");
        var keys = new ulong[scores.Length];
        for (var i = 0; i < keys.Length; i++) keys[i] = Pack(scores[i], labels[i] > 0.5f);
        return ComputePacked(keys);
    }

    /// <summary>
    /// Packs a score and a label into a key that sorts like the score: the float's bits mapped to an
    /// order-preserving unsigned integer in the high 32 bits, the label in bit 0. -0 and +0 map alike (they tie).
    /// </summary>
    public static ulong Pack(float score, bool positive)
    {
        if (float.IsNaN(score)) throw new ArgumentException("a score is NaN; AUC needs comparable scores");
        if (score == 0) score = 0; // -0 -> +0
        var bits = BitConverter.SingleToUInt32Bits(score);
        var ordered = (bits & 0x8000_0000u) != 0 ? ~bits : bits | 0x8000_0000u;
        return ((ulong)ordered << 32) | (positive ? 1UL : 0UL);
    }

    /// <summary>AUC of packed keys (<see cref="Pack"/>); sorts <paramref name="keys"/> in place.</summary>
    public static double ComputePacked(Span<ulong> keys)
    {
        keys.Sort();
        long nPos = 0;
        double rankSumPos = 0;
        for (var start = 0; start < keys.Length;)
        {
            var score = keys[start] >> 32;
            var end = start + 1;
            long positives = (long)(keys[start] & 1);
            while (end < keys.Length && keys[end] >> 32 == score) positives += (long)(keys[end++] & 1);
            // Ranks start+1..end share their average rank.
            rankSumPos += positives * ((start + 1 + end) / 2.0);
            nPos += positives;
            start = end;
        }
        long nNeg = keys.Length - nPos;
        if (nPos == 0 || nNeg == 0) return double.NaN;
        return (rankSumPos - nPos * (nPos + 1) / 2.0) / ((double)nPos * nNeg);
    }
}
