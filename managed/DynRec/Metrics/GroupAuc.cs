namespace DynRec.Metrics;

/// <summary>GAUC of one task: both definitions, named apart, and the users they count.</summary>
/// <param name="Gauc">FunRec's GAUC: the unweighted mean of per-user AUC over users with both classes.</param>
/// <param name="WeightedGauc">DIN's / FuxiCTR's GAUC: per-user AUC weighted by the user's impression count, same users.</param>
/// <param name="ValidUsers">Users with at least one positive and one negative (the ones averaged).</param>
public readonly record struct GroupAucResult(double Gauc, double WeightedGauc, int ValidUsers);

/// <summary>Group AUC: per-user AUC averaged over users whose labels hold both classes.</summary>
public static class GroupAuc
{
    public static GroupAucResult Compute(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels, ReadOnlySpan<long> userIds)
    {
        if (scores.Length != labels.Length || scores.Length != userIds.Length)
            throw new ArgumentException($"scores ({scores.Length}), labels ({labels.Length}) and user ids ({userIds.Length}) differ in length");
        var n = scores.Length;
        var users = userIds.ToArray();
        var order = new int[n];
        for (var i = 0; i < n; i++) order[i] = i;
        // Stable grouping is not needed: AUC within a group does not depend on row order.
        Array.Sort(users, order);

        double sum = 0, weightedSum = 0, weightTotal = 0;
        var valid = 0;
        var groupScores = new double[Math.Min(n, 1 << 16)];
        var groupLabels = new bool[groupScores.Length];
        for (var start = 0; start < n;)
        {
            var end = start + 1;
            while (end < n && users[end] == users[start]) end++;
            var size = end - start;
            if (groupScores.Length < size)
            {
                groupScores = new double[size];
                groupLabels = new bool[size];
            }
            var hasPos = false;
            var hasNeg = false;
            for (var k = 0; k < size; k++)
            {
                var row = order[start + k];
                groupScores[k] = scores[row];
                groupLabels[k] = labels[row] > 0.5f;
                if (groupLabels[k]) hasPos = true; else hasNeg = true;
            }
            if (hasPos && hasNeg)
            {
                var auc = Auc.ComputeInPlace(groupScores.AsSpan(0, size), groupLabels.AsSpan(0, size));
                sum += auc;
                weightedSum += auc * size;
                weightTotal += size;
                valid++;
            }
            start = end;
        }
        return valid == 0
            ? new GroupAucResult(double.NaN, double.NaN, 0)
            : new GroupAucResult(sum / valid, weightedSum / weightTotal, valid);
    }
}
