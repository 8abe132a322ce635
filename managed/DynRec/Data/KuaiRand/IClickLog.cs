namespace DynRec.Data.KuaiRand;

/// <summary>
/// What the click-history feature (<see cref="RecentClicks"/>, <see cref="UserDateGroups"/>) reads of a log, per row:
/// its dense user, date, time within the date (rows of a date are ordered by it, then by row), whether the row
/// counts as a click, and its dense item. Implemented by structs so the generic builders specialize per log.
/// </summary>
internal interface IClickLog
{
    int Count { get; }
    int Users { get; }
    int User(int row);
    int Date(int row);
    long Time(int row);
    bool Clicked(int row);
    int Item(int row);
}

/// <summary>KuaiRand's log: is_click rows, ordered by time_ms within a date.</summary>
internal readonly struct RawClickLog(RawLog raw) : IClickLog
{
    public int Count => raw.Count;
    public int Users => raw.Users.Count;
    public int User(int row) => raw.User[row];
    public int Date(int row) => raw.Date[row];
    public long Time(int row) => raw.TimeMs[row];
    public bool Clicked(int row) => (raw.Flags[row] & RawLog.Flag.Click) != 0;
    public int Item(int row) => raw.Video[row];
}
