namespace DynRec.Metrics;

/// <summary>GAUC of one task: both definitions, named apart, and the users they count.</summary>
/// <param name="Gauc">FunRec's GAUC: the unweighted mean of per-user AUC over users with both classes.</param>
/// <param name="WeightedGauc">DIN's / FuxiCTR's GAUC: per-user AUC weighted by the user's impression count, same users.</param>
/// <param name="ValidUsers">Users with at least one positive and one negative (the ones averaged).</param>
public readonly record struct GroupAucResult(double Gauc, double WeightedGauc, int ValidUsers);

/// <summary>
/// Rows grouped by user: <see cref="Order"/> lists row indices user by user, and
/// group g spans Order[Starts[g]..Starts[g+1]). Built once per slice and shared by
/// every task's GAUC.
/// </summary>
public sealed class UserGroups
{
    public UserGroups(ReadOnlySpan<long> userIds)
    {
        var users = userIds.ToArray();
        Order = new int[users.Length];
        var packable = true;
        foreach (var u in users) packable &= u is >= 0 and <= uint.MaxValue;
        if (packable)
        {
            // (user, row) in one ulong: a primitive sort, no item array to move along.
            var keys = new ulong[users.Length];
            for (var i = 0; i < keys.Length; i++) keys[i] = ((ulong)users[i] << 32) | (uint)i;
            Array.Sort(keys);
            for (var i = 0; i < keys.Length; i++)
            {
                Order[i] = (int)(uint)keys[i];
                users[i] = (long)(keys[i] >> 32);
            }
        }
        else
        {
            for (var i = 0; i < Order.Length; i++) Order[i] = i;
            // AUC within a group does not depend on row order, so an unstable sort is fine.
            Array.Sort(users, Order);
        }
        var starts = new List<int>();
        for (var i = 0; i < users.Length; i++)
            if (i == 0 || users[i] != users[i - 1]) starts.Add(i);
        starts.Add(users.Length);
        Starts = starts.ToArray();
    }

    public int[] Order { get; }
    public int[] Starts { get; }
    public int Count => Starts.Length - 1;
    public int Rows => Order.Length;
}

/// <summary>Group AUC: per-user AUC averaged over users whose labels hold both classes.</summary>
public static class GroupAuc
{
    public static GroupAucResult Compute(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels, ReadOnlySpan<long> userIds)
    {
        if (scores.Length != labels.Length || scores.Length != userIds.Length)
            throw new ArgumentException($"scores ({scores.Length}), labels ({labels.Length}) and user ids ({userIds.Length}) differ in length");
        return Compute(scores, labels, new UserGroups(userIds));
    }

    /// <summary>GAUC over precomputed user groups (indices into <paramref name="scores"/> and <paramref name="labels"/>).</summary>
    public static GroupAucResult Compute(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels, UserGroups groups)
    {
        if (scores.Length != labels.Length || scores.Length != groups.Rows)
            throw new ArgumentException($"scores ({scores.Length}), labels ({labels.Length}) and user groups ({groups.Rows} rows) differ in length");
        double sum = 0, weightedSum = 0, weightTotal = 0;
        var valid = 0;
        var groupKeys = new ulong[64];
        for (var g = 0; g < groups.Count; g++)
        {
            var start = groups.Starts[g];
            var size = groups.Starts[g + 1] - start;
            if (groupKeys.Length < size) groupKeys = new ulong[size];
            var positives = 0;
            for (var k = 0; k < size; k++)
            {
                var row = groups.Order[start + k];
                var positive = labels[row] > 0.5f;
                groupKeys[k] = Auc.Pack(scores[row], positive);
                if (positive) positives++;
            }
            if (positives == 0 || positives == size) continue;
            var auc = Auc.ComputePacked(groupKeys.AsSpan(0, size));
            sum += auc;
            weightedSum += auc * size;
            weightTotal += size;
            valid++;
        }
        return valid == 0
            ? new GroupAucResult(double.NaN, double.NaN, 0)
            : new GroupAucResult(sum / valid, weightedSum / weightTotal, valid);
    }
}
