using Microsoft.Extensions.FileSystemGlobbing;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace DynRec.Data.Table;

/// <summary>
/// A "table" data folder's description (<see cref="FileName"/>): one or more CSV files of
/// impressions, one row each, and which of their columns are the user, the item, the scenario,
/// the date (the time split), the tasks' 0/1 labels and the categorical or numeric features.
/// It is how data that is not KuaiRand's reaches the models:
/// <code>
/// files: [impressions.csv]          # read in this order as one table (same columns); globs: parts/*.csv
/// user: user_id                     # integer or text id: the user entity, GAUC's groups
/// item: item_id                     # integer or text id (optional)
/// scenario: domain                  # integer or text; each value seen in training is a scenario
/// date: day                         # integer (e.g. yyyymmdd) or yyyy-MM-dd[ time]: test = the last value
/// tasks: [click, purchase]          # 0/1 labels, one task each
/// features:
///   user: [age, gender]             # categorical unless listed under numeric
///   item: [category, price]
///   context: [hour, device]
/// numeric: [price]                  # cut into 10 buckets at the train rows' deciles
/// persona: [user_id, item_id]       # PEPNet's persona fields (default: user and item)
/// user_table: users.csv             # optional: one row per user, keyed by the user column; user features it has come from here
/// item_table: items.csv             # optional: the same for items, keyed by the item column
/// history: {task: click, length: 20, time: ts}  # optional: each row's user's last 20 clicked items of earlier dates
/// </code>
/// A user (item) feature an impressions file lacks is read from the user (item) table, joined on the id
/// (<see cref="TableSideJoin"/>); a file's own column wins.
/// </summary>
public sealed record TableSchema(
    string Path,
    IReadOnlyList<string> Files,
    string User,
    string? Item,
    string Scenario,
    string Date,
    IReadOnlyList<string> Tasks,
    IReadOnlyList<string> UserFeatures,
    IReadOnlyList<string> ItemFeatures,
    IReadOnlyList<string> ContextFeatures,
    IReadOnlySet<string> Numeric,
    IReadOnlySet<string> Persona)
{
    /// <summary>The user table's files (empty: none): one row per user, keyed by <see cref="User"/>.</summary>
    public IReadOnlyList<string> UserTable { get; init; } = [];
    /// <summary>The item table's files (empty: none): one row per item, keyed by <see cref="Item"/>.</summary>
    public IReadOnlyList<string> ItemTable { get; init; } = [];

    /// <summary>The click-history sequence feature, or null (none).</summary>
    public TableHistory? History { get; init; }

    /// <summary>Every file the table reads: the impressions, then the user and item tables.</summary>
    public IEnumerable<string> AllFiles => Files.Concat(UserTable).Concat(ItemTable);

    public const string FileName = "dynrec-table.yaml";

    /// <summary>The schema file of <paramref name="folder"/>, or null when the folder is not a table folder.</summary>
    public static string? FileIn(string folder)
    {
        var path = System.IO.Path.Combine(folder, FileName);
        return File.Exists(path) ? path : null;
    }

    /// <summary>Every feature column in schema order: user, item, context features.</summary>
    public IEnumerable<string> Features => UserFeatures.Concat(ItemFeatures).Concat(ContextFeatures);

    /// <summary>Reads and checks a schema file; every problem is a <see cref="DataFormatException"/> naming the file (and line).</summary>
    public static TableSchema Read(string path)
    {
        if (!File.Exists(path)) throw new DataFormatException(path, 0, null, "file not found");
        Document? d;
        try
        {
            d = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build()
                .Deserialize<Document>(File.ReadAllText(path));
        }
        catch (YamlException e)
        {
            // YamlDotNet wraps the real cause (an unknown key, a list where a name belongs) in "Exception during deserialization".
            var cause = e.InnerException is YamlException inner ? inner : e;
            var message = e.InnerException is { } ie && ie is not YamlException ? ie.Message : cause.Message;
            throw new DataFormatException(path, e.Start.Line, null,
                $"{message} (valid keys: files, user, item, scenario, date, tasks, features (user, item, context), numeric, persona, user_table, item_table, history (task, length, time, name))");
        }
        if (d == null) throw new DataFormatException(path, 0, null, "the file is empty; it must name files, user, scenario, date and tasks");
        return Check(path, d);
    }

    private static TableSchema Check(string path, Document d)
    {
        DataFormatException Bad(string key, string problem) => new(path, 0, key, problem);
        string Required(string key, string? value) =>
            string.IsNullOrWhiteSpace(value) ? throw Bad(key, $"'{key}' must name a column") : value.Trim();
        List<string> Names(string key, List<string>? values)
        {
            var list = (values ?? new List<string>()).Select(v => v?.Trim() ?? "").ToList();
            if (list.Any(string.IsNullOrEmpty)) throw Bad(key, $"'{key}' lists an empty name");
            return list;
        }

        var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        var files = Names("files", d.Files);
        if (files.Count == 0) throw Bad("files", "'files' must list at least one CSV file (paths relative to this file's folder)");
        var fullFiles = files.SelectMany(f => Expand(path, folder, f, "files")).ToList();
        List<string> SideTable(string key, string? entry) => string.IsNullOrWhiteSpace(entry) ? []
            : Expand(path, folder, entry.Trim(), key).ToList();
        var userTable = SideTable("user_table", d.UserTable);
        var itemTable = SideTable("item_table", d.ItemTable);
        var listed = fullFiles.Select(f => (File: f, Key: "files")).Concat(userTable.Select(f => (File: f, Key: "user_table")))
            .Concat(itemTable.Select(f => (File: f, Key: "item_table"))).ToList();
        var duplicateFile = listed.GroupBy(f => f.File).FirstOrDefault(g => g.Count() > 1);
        if (duplicateFile != null)
            throw Bad(duplicateFile.First().Key, $"'{duplicateFile.Key}' is listed twice ({string.Join(", ", duplicateFile.Select(f => f.Key))})");
        foreach (var (f, key) in listed)
            if (!File.Exists(f)) throw new DataFormatException(f, 0, null, $"file not found (listed under '{key}' in {path})");

        var user = Required("user", d.User);
        var item = string.IsNullOrWhiteSpace(d.Item) ? null : d.Item.Trim();
        var scenario = Required("scenario", d.Scenario);
        var date = Required("date", d.Date);
        var tasks = Names("tasks", d.Tasks);
        if (tasks.Count == 0) throw Bad("tasks", "'tasks' must list at least one 0/1 label column");
        var userFeatures = Names("features.user", d.Features?.User);
        var itemFeatures = Names("features.item", d.Features?.Item);
        var contextFeatures = Names("features.context", d.Features?.Context);
        if (item == null && itemFeatures.Count > 0)
            throw Bad("features.item", "item features need an 'item' column (the item they describe)");
        if (item == null && itemTable.Count > 0)
            throw Bad("item_table", "an item table needs an 'item' column (its rows are looked up by it)");
        if (userTable.Count > 0 && userFeatures.Count == 0)
            throw Bad("user_table", "a user table needs user features to read from it (features.user)");
        if (itemTable.Count > 0 && itemFeatures.Count == 0)
            throw Bad("item_table", "an item table needs item features to read from it (features.item)");

        var history = CheckHistory(d.History, item, tasks, Bad);
        // Every column plays one role: a column named twice would be read twice with different meanings.
        var roles = new List<(string Column, string Role)> { (user, "user"), (scenario, "scenario"), (date, "date") };
        if (history?.Time != null) roles.Add((history.Time, "history.time"));
        if (item != null) roles.Add((item, "item"));
        roles.AddRange(tasks.Select(t => (t, "tasks")));
        roles.AddRange(userFeatures.Select(f => (f, "features.user")));
        roles.AddRange(itemFeatures.Select(f => (f, "features.item")));
        roles.AddRange(contextFeatures.Select(f => (f, "features.context")));
        foreach (var g in roles.GroupBy(r => r.Column, StringComparer.Ordinal).Where(g => g.Count() > 1))
            throw Bad(g.First().Role, $"column '{g.Key}' is named more than once ({string.Join(", ", g.Select(r => r.Role))})");

        var features = userFeatures.Concat(itemFeatures).Concat(contextFeatures).ToHashSet(StringComparer.Ordinal);
        var numeric = Names("numeric", d.Numeric).ToHashSet(StringComparer.Ordinal);
        foreach (var n in numeric)
            if (!features.Contains(n)) throw Bad("numeric", $"'{n}' is not one of the features (numeric marks features to bucketize)");
        var personaCandidates = new HashSet<string>(features, StringComparer.Ordinal) { user };
        if (item != null) personaCandidates.Add(item);
        var persona = d.Persona == null
            ? new HashSet<string>(item == null ? new[] { user } : new[] { user, item }, StringComparer.Ordinal)
            : Names("persona", d.Persona).ToHashSet(StringComparer.Ordinal);
        foreach (var p in persona)
            if (!personaCandidates.Contains(p)) throw Bad("persona", $"'{p}' is not the user, the item or a feature");
        if (persona.Count == 0) throw Bad("persona", "'persona' must name at least one field (PEPNet's PPNet gates read them)");
        if (history != null && roles.Any(r => r.Column == history.Name))
            throw Bad("history.name", $"'{history.Name}' is already a column; name the history feature otherwise (history.name)");
        return new TableSchema(path, fullFiles, user, item, scenario, date, tasks, userFeatures, itemFeatures, contextFeatures,
            numeric, persona) { UserTable = userTable, ItemTable = itemTable, History = history };
    }

    private static TableHistory? CheckHistory(HistoryDocument? h, string? item, List<string> tasks, Func<string, string, DataFormatException> bad)
    {
        if (h == null) return null;
        if (item == null) throw bad("history", "the history is a sequence of items; it needs an 'item' column");
        var task = string.IsNullOrWhiteSpace(h.Task) ? throw bad("history.task", "'history.task' must name the task whose positive rows make the history (e.g. click)") : h.Task.Trim();
        if (!tasks.Contains(task)) throw bad("history.task", $"'{task}' is not one of the tasks ({string.Join(", ", tasks)})");
        var length = h.Length ?? TableHistory.DefaultLength;
        if (length is < 1 or > TableHistory.MaxLength) throw bad("history.length", $"history.length must be 1..{TableHistory.MaxLength}, got {length}");
        var time = string.IsNullOrWhiteSpace(h.Time) ? null : h.Time.Trim();
        var name = string.IsNullOrWhiteSpace(h.Name) ? $"recent_{task}" : h.Name.Trim();
        return new TableHistory(name, task, length, time);
    }

    /// <summary>
    /// A 'files' entry as full paths: a path, or a glob pattern (*, ?, ** for any folders: "parts/*.csv",
    /// "**/day=*/*.csv") whose matches are read in ordinal order of their paths; a pattern that matches
    /// nothing is an error, as is a missing file.
    /// </summary>
    private static IEnumerable<string> Expand(string schemaPath, string folder, string entry, string key)
    {
        if (entry.IndexOfAny(['*', '?']) < 0) return [System.IO.Path.GetFullPath(System.IO.Path.Combine(folder, entry))];
        var matcher = new Matcher(StringComparison.Ordinal);
        matcher.AddInclude(entry);
        var matches = matcher.GetResultsInFullPath(folder).Select(System.IO.Path.GetFullPath)
            .Where(m => m != System.IO.Path.GetFullPath(schemaPath)).Order(StringComparer.Ordinal).ToList();
        return matches.Count > 0 ? matches
            : throw new DataFormatException(schemaPath, 0, key, $"'{entry}' matches no file in {folder}");
    }

    // The YAML document as written; checked into a TableSchema by Check.
    private sealed class Document
    {
        public List<string>? Files { get; set; }
        public string? User { get; set; }
        public string? Item { get; set; }
        public string? Scenario { get; set; }
        public string? Date { get; set; }
        public List<string>? Tasks { get; set; }
        public FeatureRoles? Features { get; set; }
        public List<string>? Numeric { get; set; }
        public List<string>? Persona { get; set; }
        public string? UserTable { get; set; }
        public string? ItemTable { get; set; }
        public HistoryDocument? History { get; set; }
    }

    private sealed class HistoryDocument
    {
        public string? Task { get; set; }
        public int? Length { get; set; }
        public string? Time { get; set; }
        public string? Name { get; set; }
    }

    private sealed class FeatureRoles
    {
        public List<string>? User { get; set; }
        public List<string>? Item { get; set; }
        public List<string>? Context { get; set; }
    }
}

/// <summary>
/// A table's click-history feature: for each row, the user's last <see cref="Length"/> items whose row had a positive
/// <see cref="Task"/> label on a STRICTLY earlier date (that day's labels are not yet known when it is scored), most
/// recent first, 0-padded; rows of a date ordered by <see cref="Time"/> (an integer or ISO date-time column), else by
/// their order in the files. It shares the item's vocabulary and embedding table, as KuaiRand's recent_clicked_videos.
/// </summary>
public sealed record TableHistory(string Name, string Task, int Length, string? Time)
{
    public const int DefaultLength = 20, MaxLength = 1000;
}
