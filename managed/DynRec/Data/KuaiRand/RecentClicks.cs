using System.Runtime.InteropServices;

namespace DynRec.Data.KuaiRand;

/// <summary>
/// The sequence feature: for each row, the user's last L clicked videos from
/// STRICTLY EARLIER dates (clicks on the row's own date are not yet known),
/// most recent first, 0-padded. Rows of one user on one date share their
/// sequence, so sequences are stored per (user, date) group
/// (<see cref="UserDateGroups"/>). Only clicked rows are sorted (per user, by
/// date, time, then log order), never the whole log.
/// </summary>
internal static class RecentClicks
{
    // 20 bytes (packed to 4): KuaiRand-27K has ~110M clicks.
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private readonly record struct Click(int Date, long Time, int Row, int Video) : IComparable<Click>
    {
        public int CompareTo(Click other)
        {
            var c = Date.CompareTo(other.Date);
            if (c == 0) c = Time.CompareTo(other.Time);
            return c != 0 ? c : Row.CompareTo(other.Row);
        }
    }

    /// <summary>
    /// The groups' sequences [groups.Count * length]; a clicked row's video is
    /// <paramref name="idOfVideo"/>[its dense video index].
    /// </summary>
    public static int[] Build<TLog>(TLog log, UserDateGroups groups, int[] idOfVideo, int length) where TLog : struct, IClickLog
    {
        var n = log.Count;
        var users = log.Users;
        if ((long)groups.Count * length > Array.MaxLength)
            throw new NotSupportedException($"{groups.Count:N0} (user, date) groups of {length} clicks exceed one array");

        // Each user's clicks, in log order, then sorted: one pass counts, one fills.
        var counts = new int[users];
        for (var r = 0; r < n; r++)
            if (log.Clicked(r)) counts[log.User(r)]++;
        var clicks = new Click[users][];
        for (var u = 0; u < users; u++) clicks[u] = counts[u] == 0 ? Array.Empty<Click>() : new Click[counts[u]];
        Array.Clear(counts);
        for (var r = 0; r < n; r++)
        {
            if (!log.Clicked(r)) continue;
            var u = log.User(r);
            clicks[u][counts[u]++] = new Click(log.Date(r), log.Time(r), r, idOfVideo[log.Item(r)]);
        }

        var sequences = new int[groups.Count * length];
        var history = new int[length];  // ring buffer, newest at (head - 1)
        for (var u = 0; u < users; u++)
        {
            var mine = clicks[u];
            Array.Sort(mine);
            int count = 0, head = 0, next = 0;
            for (var g = groups.First(u); g < groups.First(u + 1); g++)
            {
                // The clicks of every earlier date join the history in (date, time, log) order ...
                var date = groups.DateOf(g);
                for (; next < mine.Length && mine[next].Date < date; next++)
                {
                    history[head] = mine[next].Video;
                    head = (head + 1) % length;
                    count = Math.Min(count + 1, length);
                }
                // ... and the group sees the last `length` of them, most recent first.
                var seq = sequences.AsSpan(g * length, length);
                for (var k = 0; k < count; k++) seq[k] = history[(head - 1 - k + 2 * length) % length];
            }
            clicks[u] = null!;  // done with this user
        }
        return sequences;
    }
}
