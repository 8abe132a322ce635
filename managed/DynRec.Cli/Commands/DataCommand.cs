using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using DynRec.Data;
using DynRec.Data.Synthetic;
using Spectre.Console;

namespace DynRec.Cli.Commands;

/// <summary>`dynrec data stats|bench|to-table`: what the preprocessed data holds, how fast it loads, and a KuaiRand folder as a table folder.</summary>
public static class DataCommand
{
    public static Command Create()
    {
        var cmd = new Command("data", "Inspect and benchmark the data layer");
        cmd.Subcommands.Add(Stats());
        cmd.Subcommands.Add(Bench());
        cmd.Subcommands.Add(ToTable());
        return cmd;
    }

    internal static Option<string> DataOption() => new("--data")
    {
        Description = "'synthetic' (generated once into ~/.cache/dynrec), a folder in KuaiRand's raw format, or a table folder (dynrec-table.yaml)",
        DefaultValueFactory = _ => DataSource.SyntheticName,
    };

    private static Command Stats()
    {
        var data = DataOption();
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder for the synthetic set (default ~/.cache/dynrec/synthetic-SEED-ROWS)" };
        var json = new Option<string?>("--json") { Description = "Also write the counts to this JSON file" };
        var noCache = new Option<bool>("--no-cache") { Description = "Parse the sources even when a valid cache exists" };
        var cmd = new Command("stats", "Counts after preprocessing: rows, users, videos, authors, rows per tab, positives per task")
            { data, dataDir, json, noCache };
        cmd.SetAction(pr =>
        {
            var options = new LoadOptions
            {
                SyntheticDirectory = pr.GetValue(dataDir), UseCache = !pr.GetValue(noCache),
                Log = m => Console.Error.WriteLine(m),
            };
            var stats = DataStats.Of(DataSource.Load(pr.GetValue(data)!, options));
            Print(stats);
            if (pr.GetValue(json) is { } path) WriteJson(path, stats);
            return 0;
        });
        return cmd;
    }

    /// <summary>"tab 4": the scenario field and its raw value (KuaiRand's tab, a table's scenario column).</summary>
    private static string ScenarioLabel(DataStats s, int scenario) =>
        s.ScenarioValues is { } v && scenario < v.Count ? $"{s.ScenarioField} {v[scenario]}" : $"{s.ScenarioField} #{scenario}";

    private static void Print(DataStats s)
    {
        var table = new Table().AddColumns("", "train", "test");
        table.AddRow("rows", $"{s.TrainRows:N0}", $"{s.TestRows:N0}");
        for (var sc = 0; sc < s.TrainRowsPerScenario.Count; sc++)
            table.AddRow($"rows in {ScenarioLabel(s, sc)} (scenario {sc})",
                $"{s.TrainRowsPerScenario[sc]:N0}", $"{s.TestRowsPerScenario[sc]:N0}");
        foreach (var (task, n) in s.TrainPositives)
            table.AddRow($"positives {task}", $"{n:N0} ({n / (double)Math.Max(1, s.TrainRows):P1})",
                s.TestHasLabels
                    ? $"{s.TestPositives[task]:N0} ({s.TestPositives[task] / (double)Math.Max(1, s.TestRows):P1})"
                    : "no labels (impression log)");
        AnsiConsole.Write(new Rule(Markup.Escape(s.Source)));
        // KuaiRand's dropped tabs and authors are left out where the data has none (a table folder).
        var read = s.RowsDroppedByTab > 0 ? $"log rows read {s.RowsRead:N0}, dropped (tab not in 0,1,2,4,6) {s.RowsDroppedByTab:N0}" : $"log rows read {s.RowsRead:N0}";
        var authors = s.Authors > 0 ? $", authors {s.Authors:N0}" : "";
        AnsiConsole.MarkupLine(Markup.Escape(
            $"{read}; users {s.Users:N0}, videos (items) {s.Videos:N0}{authors}; test date {s.TestDate}; {s.Fields.Count} sparse fields"));
        AnsiConsole.Write(table);
        if (s.Oracle is { } o)
        {
            var auc = new Table().AddColumn("oracle AUC (test)").AddColumn("all");
            for (var sc = 0; sc < s.TrainRowsPerScenario.Count; sc++) auc.AddColumn(ScenarioLabel(s, sc));
            foreach (var task in o.Overall.Keys)
            {
                auc.AddRow(new[] { task, $"{o.Overall[task]:F4}" }.Concat(o.PerScenario[task].Select(a => $"{a:F4}")).ToArray());
                if (o.TabBlindOverall != null)
                    auc.AddRow(new[] { $"{task} (tab-blind best)", $"{o.TabBlindOverall[task]:F4}" }
                        .Concat(o.TabBlindPerScenario![task].Select(a => $"{a:F4}")).ToArray());
            }
            AnsiConsole.Write(auc);
        }
    }

    private static void WriteJson(string path, DataStats stats)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, JsonSerializer.Serialize(stats, new JsonSerializerOptions
        {
            WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        }));
        File.Move(temp, path, overwrite: true);
    }

    private static Command ToTable()
    {
        var data = new Option<string>("--data") { Description = "'synthetic' or a folder in KuaiRand's raw format", DefaultValueFactory = _ => DataSource.SyntheticName };
        var output = new Option<string>("--out") { Description = "Folder to write the table folder into (created if missing)", Required = true };
        var cmd = new Command("to-table", "Write a KuaiRand folder (or the synthetic set) as a table folder: impressions joined with their features, and a dynrec-table.yaml")
            { data, output };
        cmd.SetAction(pr =>
        {
            var source = pr.GetValue(data)!;
            var folder = source == DataSource.SyntheticName ? DataSource.EnsureSynthetic(new LoadOptions { Log = m => Console.Error.WriteLine(m) }) : source;
            if (!Directory.Exists(folder)) throw new UserException($"--data: folder not found: {folder}");
            var outFolder = pr.GetValue(output)!;
            var rows = Data.Table.KuaiRandToTable.Convert(folder, outFolder, m => Console.Error.WriteLine(m));
            Console.WriteLine($"wrote {rows:N0} rows and {Data.Table.TableSchema.FileName} to {outFolder}");
            return 0;
        });
        return cmd;
    }

    private static Command Bench()
    {
        var rows = new Option<long>("--rows") { Description = "Synthetic log rows to generate and load", DefaultValueFactory = _ => 2_000_000 };
        var dir = new Option<string?>("--dir") { Description = "Work folder (default: a temp folder, deleted afterwards)" };
        var batch = new Option<int>("--batch") { Description = "Batch size for the batch-building figure", DefaultValueFactory = _ => 1024 };
        var cmd = new Command("bench", "Measure generation, cold parse+encode, cache load and batch building on a synthetic set")
            { rows, dir, batch };
        cmd.SetAction(pr => RunBench(pr.GetValue(rows), pr.GetValue(dir), pr.GetValue(batch)));
        return cmd;
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>Wall and process CPU seconds of an action (CPU time is less sensitive to a shared machine).</summary>
    private static (double Wall, double Cpu) Timed(Action action)
    {
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        action();
        process.Refresh();
        return (clock.Elapsed.TotalSeconds, (process.TotalProcessorTime - cpu).TotalSeconds);
    }

    private static int RunBench(long rows, string? dir, int batchSize)
    {
        if (rows < 100) throw new UserException($"--rows must be >= 100, got {rows}");
        if (batchSize <= 0) throw new UserException($"--batch must be > 0, got {batchSize}");
        var folder = dir ?? Path.Combine(Path.GetTempPath(), $"dynrec-bench-{Guid.NewGuid():N}");
        try
        {
            var scale = Math.Max(1.0, rows / 330_000.0);
            var config = new SyntheticConfig
            {
                Rows = rows, Days = 14, Users = (int)(3000 * Math.Sqrt(scale)), Videos = (int)(2000 * Math.Sqrt(scale)),
            };
            var (gen, genCpu) = Timed(() => SyntheticGenerator.Generate(folder, config));
            var bytes = Directory.GetFiles(folder, "log_standard_*.csv").Sum(f => new FileInfo(f).Length);
            Console.WriteLine($"generate  {rows:N0} rows ({bytes / 1e6:F0} MB of logs): {gen:F2}s wall, {genCpu:F2}s CPU  ({rows / gen / 1e6:F2} M rows/s wall)");

            var options = new LoadOptions { Synthetic = config };
            var cachePath = DataCache.PathFor(folder, null);
            if (File.Exists(cachePath)) File.Delete(cachePath);
            // Parse twice without the cache: the first run in a process includes JIT compilation.
            DataSplit cold = null!;
            var (first, firstCpu) = Timed(() => DataSource.LoadFolder(folder, options with { UseCache = false }));
            var (parse, parseCpu) = Timed(() => cold = DataSource.LoadFolder(folder, options with { UseCache = false }));
            Console.WriteLine($"cold      parse+encode {rows:N0} rows -> {cold.Train.Rows + cold.Test.Rows:N0} kept: {parse:F2}s wall, {parseCpu:F2}s CPU  ({rows / parse / 1e6:F2} M rows/s wall, {bytes / parse / 1e6:F0} MB/s); first run in process (with JIT) {first:F2}s wall, {firstCpu:F2}s CPU");
            var (write, _) = Timed(() => DataSource.LoadFolder(folder, options));  // parse again + write the cache
            DataSplit warm = null!;
            var (load, loadCpu) = Timed(() => warm = DataSource.LoadFolder(folder, options));
            if (!warm.FromCache) throw new InvalidOperationException("second load did not hit the cache");
            Console.WriteLine($"cache     parse + write {write:F2}s, {new FileInfo(cachePath).Length / 1e6:F0} MB; load {load:F3}s wall, {loadCpu:F3}s CPU  ({rows / load / 1e6:F1} M rows/s, {parse / load:F1}x faster than parsing)");

            var train = warm.Train;
            var permutation = Enumerable.Range(0, train.Rows).ToArray();
            new Random(1).Shuffle(permutation);
            long built = 0;
            var (batches, batchesCpu) = Timed(() =>
            {
                for (var start = 0; start + batchSize <= train.Rows; start += batchSize)
                {
                    using var b = train.GetBatch(permutation.AsSpan(start, batchSize));
                    built += batchSize;
                }
            });
            Console.WriteLine($"batches   {built:N0} shuffled rows in batches of {batchSize}: {batches:F2}s wall, {batchesCpu:F2}s CPU  ({built / batches / 1e6:F2} M rows/s wall)");
            Console.WriteLine($"machine   {Environment.ProcessorCount} logical cores, load average {LoadAverage()}, .NET {Environment.Version}; parsing and encoding run on one thread");
            return 0;
        }
        finally
        {
            if (dir == null && Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }
}
