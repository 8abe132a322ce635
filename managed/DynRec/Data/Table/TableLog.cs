using DynRec.Data.KuaiRand;

namespace DynRec.Data.Table;

/// <summary>
/// A table folder's CSV files parsed into columns of 2^20-row chunks (no doubling slack, no large
/// contiguous blocks): per row the user, item and scenario interned to dense indices (integer or text
/// ids), the date, the task labels, and each feature as a string code (categorical) or a number (numeric). A file without any task column holds impressions to score (labels 0, marked
/// unlabeled); a file with only some of them is an error.
/// </summary>
internal sealed class TableLog
{
    /// <summary>Rows FirstRow..FirstRow+Rows-1 came from Path; Labeled = it had the task columns.</summary>
    public readonly record struct LogFile(string Path, int FirstRow, int Rows, bool Labeled);

    public readonly List<LogFile> Files = new();
    public readonly TableIdColumn Users, Items, Scenarios;
    public readonly ChunkedColumn<int> Date = new();
    /// <summary>Each row's time within its date (the history's order), when the schema's history names a time column.</summary>
    public readonly ChunkedColumn<long>? Time;
    /// <summary>Per task, each row's 0/1 label.</summary>
    public readonly ChunkedColumn<byte>[] Labels;
    public readonly Dictionary<string, TableCategoricalColumn> Categoricals = new();
    public readonly Dictionary<string, TableNumericColumn> Numerics = new();
    /// <summary>Where each scenario value (by dense index) first occurs: to name it in errors.</summary>
    public readonly List<(string File, long Line)> ScenarioFirstSeen = new();

    public TableLog(TableSchema schema)
    {
        Schema = schema;
        Users = new TableIdColumn(schema.User);
        Items = new TableIdColumn(schema.Item ?? "item");
        Scenarios = new TableIdColumn(schema.Scenario);
        foreach (var f in schema.Features)
            if (schema.Numeric.Contains(f)) Numerics[f] = new TableNumericColumn(f);
            else Categoricals[f] = new TableCategoricalColumn(f);
        Labels = schema.Tasks.Select(_ => new ChunkedColumn<byte>()).ToArray();
        if (schema.History?.Time != null) Time = new ChunkedColumn<long>();
    }

    public TableSchema Schema { get; }
    public int Count => Date.Count;

    /// <summary>The user and item tables joined into the rows as they are read (none when the schema has none).</summary>
    private readonly List<(TableSideJoin Join, TableIdColumn Ids)> _joins = new();

    public static TableLog Read(TableSchema schema, Action<string>? log)
    {
        var table = new TableLog(schema);
        var users = TableSideTable.Read("user", schema.User, schema.UserTable, schema.UserFeatures, schema.Numeric, log);
        if (users != null) table._joins.Add((new TableSideJoin(users, table.Users, table.Categoricals, table.Numerics), table.Users));
        var items = TableSideTable.Read("item", schema.Item ?? "item", schema.ItemTable, schema.ItemFeatures, schema.Numeric, log);
        if (items != null) table._joins.Add((new TableSideJoin(items, table.Items, table.Categoricals, table.Numerics), table.Items));
        foreach (var path in schema.Files) table.ReadFile(path, log);
        foreach (var (join, _) in table._joins) join.Finish(log);
        return table;
    }

    /// <summary>
    /// An integer date (yyyymmdd, a day number) or an ISO date (2022-04-08, read as 20220408), which may carry a
    /// time of day ("2022-04-08 13:05:00", "2022-04-08T13:05:00.123Z", as pandas writes a datetime): only the date counts.
    /// </summary>
    private static int DateOf(CsvSource csv, in nietras.SeparatedValues.SepReader.Row row, int column)
    {
        var text = row[column].Span.Trim();
        if (text.Length >= 10 && text[4] == '-' && text[7] == '-')
            return DateOnly.TryParseExact(text[..10], "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.None, out var d) && (text.Length == 10 || IsTimeOfDay(text[10..]))
                ? d.Year * 10000 + d.Month * 100 + d.Day
                : throw csv.Bad(row, column, $"'{text}' is not a date (yyyy-MM-dd, optionally with a time of day)");
        var date = csv.IntegralNumber(row, column);
        // A Unix timestamp (1.6e9 s, 1.6e12 ms) would make every second its own date, and the test split its last second.
        if (date >= 1_000_000_000)
            throw csv.Bad(row, column, $"date {date} looks like a Unix timestamp; write the day (yyyymmdd, yyyy-MM-dd or a day number)");
        if (date < 0) throw csv.Bad(row, column, $"date {date} is negative; write the day (yyyymmdd, yyyy-MM-dd or a day number)");
        return (int)date;
    }

    /// <summary>A time to order rows by: an integer (a Unix time, a time of day) or an ISO date-time ("2022-04-08T13:05:00Z"), as UTC ticks.</summary>
    private static long TimeOf(CsvSource csv, in nietras.SeparatedValues.SepReader.Row row, int column)
    {
        var text = row[column].Span.Trim();
        if (CsvSource.TryParseLong(text, out var value)) return value;
        if (CsvSource.TryParseDouble(text, out var d) && d == Math.Floor(d) && Math.Abs(d) < 9.0e18) return (long)d;  // 1.649e12, 7.0
        if (CsvSource.IsMissing(text)) throw csv.Bad(row, column, "the time is empty; every row needs one (it orders the history)");
        return DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var t)
            ? t.UtcTicks
            : throw csv.Bad(row, column, $"'{text}' is not a time (an integer or an ISO date-time)");
    }

    /// <summary>What may follow an ISO date: ' ' or 'T', then HH:mm[:ss[.fff]] and an optional zone (Z, +02:00, -0500).</summary>
    private static bool IsTimeOfDay(ReadOnlySpan<char> rest)
    {
        if (rest.Length < 6 || (rest[0] != ' ' && rest[0] != 'T')) return false;
        var time = rest[1..];
        var zone = time.IndexOfAny('Z', '+', '-');
        if (zone >= 0)
        {
            var z = time[zone..];
            if (!(z is "Z" || (z.Length is 5 or 6 && z[1..].IndexOfAnyExcept("0123456789:") < 0))) return false;
            time = time[..zone];
        }
        return TimeOnly.TryParseExact(time, ["HH:mm", "HH:mm:ss", "HH:mm:ss.FFFFFFF"], System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.None, out _);
    }

    private void ReadFile(string path, Action<string>? log)
    {
        using var csv = CsvSource.Open(path, unescape: true);
        var s = Schema;
        var labeled = s.Tasks.Any(csv.HasColumn);
        // Either every task column (a labeled log) or none (impressions to score): one missing is a mistake.
        var taskCols = labeled ? csv.Columns(s.Tasks) : Array.Empty<int>();
        int cUser = csv.Column(s.User), cScenario = csv.Column(s.Scenario), cDate = csv.Column(s.Date);
        var cTime = Time == null ? -1 : csv.Column(s.History!.Time!);
        var cItem = s.Item == null ? -1 : csv.Column(s.Item);
        // A feature this file lacks comes from the user or item table, when one has it; the file's own columns win.
        var joins = _joins.Select(j => (Join: j.Join.For(csv.HasColumn), IsUser: ReferenceEquals(j.Ids, Users))).ToArray();
        int Own(string name)
        {
            if (csv.HasColumn(name)) return csv.Column(name);
            var side = s.UserFeatures.Contains(name) ? "user" : s.ItemFeatures.Contains(name) ? "item" : null;
            var table = _joins.FirstOrDefault(j => j.Join.Table.Entity == side).Join?.Table;
            if (table == null) return csv.Column(name);  // the error listing the header
            throw new DataFormatException(path, 1, name, $"missing column: neither this file nor the {side} table ({table.Name}) has it");
        }
        bool Joined(string name) => joins.Any(j => j.Join.Fills(name));
        var cats = Categoricals.Values.Where(c => !Joined(c.Name)).Select(c => (Column: c, Index: Own(c.Name))).ToArray();
        var nums = Numerics.Values.Where(n => !Joined(n.Name)).Select(n => (Column: n, Index: Own(n.Name))).ToArray();
        var first = Count;
        long rows = 0;
        foreach (var row in csv.Reader)
        {
            rows++;
            csv.CheckColumnCount(row);
            var newUser = Users.Add(csv, row, cUser);
            var newItem = cItem >= 0 && Items.Add(csv, row, cItem);
            foreach (var (join, isUser) in joins) join.AddRow(isUser ? newUser : newItem, row[isUser ? cUser : cItem].Span);
            if (Scenarios.Add(csv, row, cScenario)) ScenarioFirstSeen.Add((path, row.LineNumberFrom));
            Date.Add(DateOf(csv, row, cDate));
            Time?.Add(TimeOf(csv, row, cTime));
            for (var t = 0; t < Labels.Length; t++) Labels[t].Add(labeled ? csv.Flag(row, taskCols[t]) : (byte)0);
            foreach (var (column, index) in cats)
            {
                var v = row[index].Span.Trim();
                column.Rows.Add(CsvSource.IsMissing(v) ? -1 : column.Values.Code(v));
            }
            foreach (var (column, index) in nums) column.Values.Add(csv.NumberOrMissing(row, index));
            if ((rows & 0xFFFFF) == 0) log?.Invoke($"reading {System.IO.Path.GetFileName(path)}: {rows:N0} rows");
        }
        if (rows == 0) throw new DataFormatException(path, 0, null, "file has a header but no data rows");
        if (Count > int.MaxValue - (1 << 20)) throw new DataFormatException(path, 0, null, $"more than {int.MaxValue - (1 << 20):N0} rows in all");
        Files.Add(new LogFile(path, first, Count - first, labeled));
    }
}
