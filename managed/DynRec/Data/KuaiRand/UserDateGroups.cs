namespace DynRec.Data.KuaiRand;

/// <summary>
/// The distinct (user, date) pairs of the log, numbered in (dense user, date) order: the groups
/// whose rows share one click sequence. Held per user as a sorted list of dates (memory grows
/// with the groups, not the rows); a row's group is a binary search among its user's dates.
/// </summary>
internal sealed class UserDateGroups
{
    private readonly int[] _first;  // [users + 1]: the first group of each user
    private readonly int[] _dates;  // [groups]: each group's date, ascending within a user

    private UserDateGroups(int[] first, int[] dates)
    {
        _first = first;
        _dates = dates;
    }

    public int Count => _dates.Length;

    /// <summary>The first group of <paramref name="user"/> (<c>First(users)</c> = Count).</summary>
    public int First(int user) => _first[user];

    public int DateOf(int group) => _dates[group];

    /// <summary>The group of a (user, date) pair the log holds.</summary>
    public int Of(int user, int date)
    {
        var i = Array.BinarySearch(_dates, _first[user], _first[user + 1] - _first[user], date);
        if (i < 0) throw new KeyNotFoundException($"user {user} has no row on date {date}");
        return i;
    }

    public static UserDateGroups Build<TLog>(TLog log) where TLog : struct, IClickLog
    {
        var users = log.Users;
        var datesOf = new List<int>?[users];
        for (var r = 0; r < log.Count; r++)
        {
            var u = log.User(r);
            var d = log.Date(r);
            var list = datesOf[u] ??= new List<int>(4);
            // Logs run in time order, so a user's date is usually the last one seen.
            if (list.Count > 0 && list[^1] == d) continue;
            var at = list.BinarySearch(d);
            if (at < 0) list.Insert(~at, d);
        }
        var first = new int[users + 1];
        for (var u = 0; u < users; u++) first[u + 1] = checked(first[u] + (datesOf[u]?.Count ?? 0));
        var dates = new int[first[users]];
        for (var u = 0; u < users; u++) datesOf[u]?.CopyTo(dates, first[u]);
        return new UserDateGroups(first, dates);
    }
}
