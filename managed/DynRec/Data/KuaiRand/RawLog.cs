namespace DynRec.Data.KuaiRand;

/// <summary>
/// The interaction log as parsed columns (rows of dropped tabs never stored), 22 bytes a row:
/// user and video ids interned to dense indices, the date, the hour of hourmin, time_ms, and one
/// byte of scenario + flags (<see cref="Flags"/>). A file without feedback columns is an impression
/// log: its rows get labels 0 and are marked unlabeled (<see cref="Files"/>).
/// </summary>
internal sealed class RawLog
{
    /// <summary>Kept rows FirstRow..FirstRow+Rows-1 came from Path; Labeled = it had the feedback columns.</summary>
    public readonly record struct LogFile(string Path, int FirstRow, int Rows, bool Labeled);

    public readonly List<LogFile> Files = new();

    public readonly IdInterner Users = new();
    public readonly IdInterner Videos = new();
    public readonly ChunkedColumn<int> User = new(), Video = new(), Date = new();
    public readonly ChunkedColumn<byte> Hour = new();
    public readonly ChunkedColumn<long> TimeMs = new();
    public readonly ChunkedColumn<byte> Flags = new();

    /// <summary>One byte per row: the scenario (bits 0-2), is_click, long_view, is_like, is_rand (bits 3-6).</summary>
    public static class Flag
    {
        public const int ScenarioMask = 7, Click = 1 << 3, LongView = 1 << 4, Like = 1 << 5, IsRand = 1 << 6;

        public static byte Pack(int scenario, byte click, byte longView, byte like, byte isRand) =>
            (byte)(scenario | (click != 0 ? Click : 0) | (longView != 0 ? LongView : 0) | (like != 0 ? Like : 0) | (isRand != 0 ? IsRand : 0));

        public static int Scenario(byte flags) => flags & ScenarioMask;

        public static int Bit(byte flags, int flag) => (flags & flag) != 0 ? 1 : 0;
    }

    /// <summary>Releases chunk <paramref name="chunk"/> of every per-row column (rows chunk·2^20 ..), once consumed.</summary>
    public void ReleaseChunk(int chunk)
    {
        User.ReleaseChunk(chunk);
        Video.ReleaseChunk(chunk);
        Date.ReleaseChunk(chunk);
        Hour.ReleaseChunk(chunk);
        TimeMs.ReleaseChunk(chunk);
        Flags.ReleaseChunk(chunk);
    }

    /// <summary>Data rows read, kept or not.</summary>
    public long RowsRead { get; private set; }

    /// <summary>Rows dropped because their tab is outside <see cref="KuaiRandColumns.KeptTabs"/>.</summary>
    public long RowsDropped { get; private set; }

    public int Count => User.Count;

    /// <summary>Scenario id of a raw tab value, or -1 when the tab is not kept.</summary>
    public static int ScenarioOfTab(long tab)
    {
        var kept = KuaiRandColumns.KeptTabs;
        for (var i = 0; i < kept.Length; i++)
            if (kept[i] == tab) return i;
        return -1;
    }

    /// <summary>Seconds between progress lines while a file is read.</summary>
    private const double ProgressSeconds = 10;

    /// <summary>
    /// Appends the rows of one log_standard_*.csv file; <paramref name="progress"/> (optional) gets a line
    /// every 10 s while it reads (a KuaiRand-27K part file takes minutes).
    /// </summary>
    public void Read(string path, Action<string>? progress = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var lastReport = 0.0;
        using var csv = CsvSource.Open(path, unescape: false);
        var labeled = KuaiRandColumns.Feedback.Any(csv.HasColumn);
        foreach (var name in labeled ? KuaiRandColumns.Log : KuaiRandColumns.Impression) csv.Column(name);
        int cUser = csv.Column("user_id"), cVideo = csv.Column("video_id"), cDate = csv.Column("date"),
            cHourMin = csv.Column("hourmin"), cTime = csv.Column("time_ms"), cRand = csv.Column("is_rand"),
            cTab = csv.Column("tab");
        int cClick = labeled ? csv.Column("is_click") : -1, cLong = labeled ? csv.Column("long_view") : -1,
            cLike = labeled ? csv.Column("is_like") : -1;
        var firstRow = Count;
        long rows = 0;
        foreach (var row in csv.Reader)
        {
            rows++;
            if (progress != null && (rows & 0xFFFFF) == 0 && clock.Elapsed.TotalSeconds - lastReport >= ProgressSeconds)
            {
                lastReport = clock.Elapsed.TotalSeconds;
                progress($"reading {System.IO.Path.GetFileName(path)}: {rows:N0} rows ({rows / lastReport / 1e6:F2} M rows/s)");
            }
            csv.CheckColumnCount(row);
            var tab = csv.Long(row, cTab);
            var scenario = ScenarioOfTab(tab);
            if (scenario < 0)
            {
                RowsDropped++;
                continue;
            }
            var date = csv.Int(row, cDate);
            if (date <= 0) throw csv.Bad(row, cDate, $"date {date} must be a positive yyyymmdd number");
            var hourMin = csv.Int(row, cHourMin);
            if (hourMin is < 0 or > 2359 || hourMin % 100 > 59)
                throw csv.Bad(row, cHourMin, $"hourmin {hourMin} is not a time of day HHMM");
            User.Add(Users.Intern(csv.Long(row, cUser)));
            Video.Add(Videos.Intern(csv.Long(row, cVideo)));
            Date.Add(date);
            Hour.Add((byte)(hourMin / 100));
            TimeMs.Add(csv.IntegralNumber(row, cTime));
            Flags.Add(Flag.Pack(scenario, labeled ? csv.Flag(row, cClick) : (byte)0, labeled ? csv.Flag(row, cLong) : (byte)0,
                labeled ? csv.Flag(row, cLike) : (byte)0, csv.Flag(row, cRand)));
        }
        if (rows == 0) throw new DataFormatException(path, 0, null, "file has a header but no data rows");
        RowsRead += rows;
        Files.Add(new LogFile(path, firstRow, Count - firstRow, labeled));
    }
}
