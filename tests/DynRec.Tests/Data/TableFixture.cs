namespace DynRec.Tests.Data;

/// <summary>
/// Writes table folders (dynrec-table.yaml + CSV files) for the table loader's tests. The default
/// schema: user uid, item iid, scenario domain, date day, tasks click and buy, features age (user),
/// category and price (item, price numeric), device (context).
/// </summary>
internal static class TableFixture
{
    public const string Schema = """
        files: [a.csv, b.csv]
        user: uid
        item: iid
        scenario: domain
        date: day
        tasks: [click, buy]
        features:
          user: [age]
          item: [category, price]
          context: [device]
        numeric: [price]
        """;

    public const string Header = "uid,iid,domain,day,click,buy,age,category,price,device";

    /// <summary>
    /// Train days 1-2 (a.csv: 4 rows, b.csv: 2 rows), test day 3 (b.csv: 3 rows). Users 7, 5, 9 in train,
    /// 11 only in test; items 30, 20 in train, 40 only in test; domains 2, 8; category "b,x" is quoted; one
    /// empty age and one empty price.
    /// </summary>
    public static readonly string A = string.Join("\n", Header,
        "7,30,2,1,1,0,young,shoes,10.5,ios",
        "5,20,8,1,0,0,old,\"b,x\",20,android",
        "7,20,2,1,1,1,young,\"b,x\",20,ios",
        "9,30,8,2,0,0,,shoes,,web") + "\n";

    public static readonly string B = string.Join("\n", Header,
        "5,30,2,2,1,0,old,shoes,30,android",
        "9,20,8,2,0,1,mid,\"b,x\",40,web",
        "7,30,2,3,1,0,young,shoes,10.5,ios",
        "11,40,8,3,0,0,new,hats,99,tv",
        "5,20,2,3,1,1,old,\"b,x\",25,android") + "\n";

    /// <summary>A table folder with the given schema and files (name -> content); the caller deletes it.</summary>
    public static string Write(string schema, params (string Name, string Content)[] files)
    {
        var dir = DataFixtures.NewTempDir();
        File.WriteAllText(Path.Combine(dir, DynRec.Data.Table.TableSchema.FileName), schema);
        foreach (var (name, content) in files) File.WriteAllText(Path.Combine(dir, name), content);
        return dir;
    }

    public static string WriteDefault() => Write(Schema, ("a.csv", A), ("b.csv", B));

    /// <summary>
    /// <see cref="A"/> and <see cref="B"/> with text ids: user 7 -> "u7", item 30 -> "sku-030", domain 2 -> "home",
    /// 8 -> "search". Their ordinal order is the integers' order, so the encoded ids are the same.
    /// </summary>
    public static string WithTextIds(string content) => string.Join("\n", content.Split('\n').Select((line, i) =>
    {
        if (i == 0 || line.Length == 0) return line;
        var cells = line.Split(',', 4);
        return string.Join(",", $"u{cells[0]}", $"sku-0{cells[1]}", cells[2] == "2" ? "home" : "search", cells[3]);
    }));

    /// <summary>
    /// A table of <paramref name="rows"/> random impressions over <paramref name="days"/> days whose click
    /// and buy probabilities depend on the user, the item's category and the scenario (for training tests).
    /// With <paramref name="textIds"/> the user, item and scenario are text ("u17", "sku-130", "search").
    /// </summary>
    public static string WriteRandom(int rows, int days, int seed, bool textIds = false)
    {
        string[] domains = ["home", "search", "video"];
        var rng = new Random(seed);
        var lines = new List<string> { Header };
        for (var r = 0; r < rows; r++)
        {
            int user = rng.Next(1, 60), item = rng.Next(100, 160), domain = rng.Next(0, 3), day = 1 + r * days / rows;
            var category = item % 5;
            var p = 0.15 + 0.5 * ((user + category * (domain + 1)) % 4) / 3.0;
            var click = rng.NextDouble() < p ? 1 : 0;
            var buy = click == 1 && rng.NextDouble() < 0.4 ? 1 : 0;
            var (u, i, d) = textIds ? ($"u{user}", $"sku-{item}", domains[domain]) : (user.ToString(), item.ToString(), domain.ToString());
            lines.Add($"{u},{i},{d},{day},{click},{buy},{(user % 3 == 0 ? "" : "a" + user % 7)},c{category},{item * 1.5},d{rng.Next(3)}");
        }
        return Write(Schema.Replace("files: [a.csv, b.csv]", "files: [all.csv]"), ("all.csv", string.Join("\n", lines) + "\n"));
    }

    /// <summary>
    /// <see cref="WriteRandom"/>'s table (<paramref name="wide"/>) as impressions plus a user table (uid, age) and an
    /// item table (iid, category, price), each entity once, in reverse order of first appearance; the schema gains
    /// user_table and item_table. It should load exactly as the wide table. <paramref name="userKey"/> rewrites the
    /// user table's ids (e.g. "7" as "7.0").
    /// </summary>
    public static string SplitIntoSideTables(string wide, Func<string, string>? userKey = null)
    {
        var lines = File.ReadAllLines(Path.Combine(wide, "all.csv"));
        var impressions = new List<string> { "uid,iid,domain,day,click,buy,device" };
        var users = new Dictionary<string, string>();
        var items = new Dictionary<string, string>();
        foreach (var line in lines.Skip(1))
        {
            var c = line.Split(',');
            impressions.Add(string.Join(",", c[0], c[1], c[2], c[3], c[4], c[5], c[9]));
            users.TryAdd(c[0], $"{(userKey ?? (k => k))(c[0])},{c[6]}");
            items.TryAdd(c[1], $"{c[1]},{c[7]},{c[8]}");
        }
        var schema = File.ReadAllText(Path.Combine(wide, DynRec.Data.Table.TableSchema.FileName))
            + "\nuser_table: users.csv\nitem_table: items.csv\n";
        return Write(schema, ("all.csv", string.Join("\n", impressions) + "\n"),
            ("users.csv", string.Join("\n", users.Values.Reverse().Prepend("uid,age")) + "\n"),
            ("items.csv", string.Join("\n", items.Values.Reverse().Prepend("iid,category,price")) + "\n"));
    }
}
