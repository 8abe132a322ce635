namespace DynRec.Data.KuaiRand;

/// <summary>
/// The sequence feature: for each row, the user's last L clicked videos from
/// STRICTLY EARLIER dates (clicks on the row's own date are not yet known),
/// most recent first, 0-padded.
/// </summary>
internal static class RecentClicks
{
    /// <summary>
    /// Rows of one user on one date share their sequence, so sequences are
    /// stored per (user, date) group: returns the group of every row and the
    /// groups' sequences [groups * length]. A clicked row's video is <paramref name="idOfVideo"/>[video[row]]
    /// (the encoded id of its dense video index: no per-row copy of encoded ids).
    /// </summary>
    public static (int[] GroupOfRow, int[] Sequences) Build(int[] user, int userCount, int[] date, RowTimes timeMs,
        ReadOnlySpan<byte> click, int[] video, int[] idOfVideo, int length)
    {
        var n = user.Length;
        var order = SortByUserDateTime(user, userCount, date, timeMs);
        var groupOfRow = new int[n];
        var sequences = new List<int>(Math.Min(n, 1 << 16) * length);
        var history = new int[length];  // ring buffer, newest at (head - 1)
        var groups = 0;
        var i = 0;
        while (i < n)
        {
            var u = user[order[i]];
            var count = 0;
            var head = 0;
            while (i < n && user[order[i]] == u)
            {
                // One (user, date) group: every row sees the history before the date ...
                var d = date[order[i]];
                var end = i;
                while (end < n && user[order[end]] == u && date[order[end]] == d) end++;
                for (var k = 0; k < length; k++) sequences.Add(k < count ? history[(head - 1 - k + 2 * length) % length] : 0);
                for (var j = i; j < end; j++) groupOfRow[order[j]] = groups;
                groups++;
                // ... then the date's clicks join the history in time order.
                for (var j = i; j < end; j++)
                {
                    var r = order[j];
                    if (click[r] == 0) continue;
                    history[head] = idOfVideo[video[r]];
                    head = (head + 1) % length;
                    count = Math.Min(count + 1, length);
                }
                i = end;
            }
        }
        return (groupOfRow, sequences.ToArray());
    }

    /// <summary>Row indices ordered by (user, date, time), stable for equal keys.</summary>
    private static int[] SortByUserDateTime(int[] user, int userCount, int[] date, RowTimes timeMs)
    {
        var n = user.Length;
        var order = new int[n];
        for (var r = 0; r < n; r++) order[r] = r;
        var distinctDates = date.Distinct().Order().ToArray();
        if (userCount >= 1 << 21 || distinctDates.Length >= 1 << 10)
        {
            var d = date;
            var t = new long[n];
            for (var r = 0; r < n; r++) t[r] = timeMs[r];
            Array.Sort(order, (a, b) =>
            {
                var c = user[a].CompareTo(user[b]);
                if (c == 0) c = d[a].CompareTo(d[b]);
                if (c == 0) c = t[a].CompareTo(t[b]);
                return c != 0 ? c : a.CompareTo(b);
            });
            return order;
        }
        // Packed key: user (21 bits) | date index (10 bits) | ms since the date's first row (32 bits).
        var dateIndex = new Dictionary<int, int>();
        for (var k = 0; k < distinctDates.Length; k++) dateIndex[distinctDates[k]] = k;
        var dayStart = new long[distinctDates.Length];
        Array.Fill(dayStart, long.MaxValue);
        for (var r = 0; r < n; r++)
        {
            var k = dateIndex[date[r]];
            dayStart[k] = Math.Min(dayStart[k], timeMs[r]);
        }
        var keys = new long[n];
        for (var r = 0; r < n; r++)
        {
            var k = dateIndex[date[r]];
            var offset = Math.Clamp(timeMs[r] - dayStart[k], 0, uint.MaxValue);
            keys[r] = ((long)user[r] << 42) | ((long)k << 32) | offset;
        }
        // Array.Sort is not stable: break ties by row index with a second pass over equal-key runs.
        Array.Sort(keys, order);
        for (var a = 0; a < n;)
        {
            var b = a + 1;
            while (b < n && keys[b] == keys[a]) b++;
            if (b - a > 1) Array.Sort(order, a, b - a);
            a = b;
        }
        return order;
    }
}
