using System.CommandLine;
using System.Diagnostics;
using DynRec.Data.Synthetic;

namespace DynRec.Cli.Commands;

/// <summary>`dynrec datagen`: writes a synthetic data set in KuaiRand's raw format, with its oracle.</summary>
public static class DatagenCommand
{
    public static Command Create()
    {
        var d = SyntheticConfig.Default;
        var outDir = new Option<string>("--out") { Description = "Folder to write (created if missing)", Required = true };
        var seed = new Option<ulong>("--seed") { Description = "Random seed (same seed -> identical files)", DefaultValueFactory = _ => d.Seed };
        var users = new Option<int>("--users") { Description = "Number of users", DefaultValueFactory = _ => d.Users };
        var videos = new Option<int>("--videos") { Description = "Number of videos (authors = videos / 4)", DefaultValueFactory = _ => d.Videos };
        var days = new Option<int>("--days") { Description = "Days of log; the last day is the test set", DefaultValueFactory = _ => d.Days };
        var rows = new Option<long>("--rows") { Description = "Log rows in total (about 3% fall in dropped tabs)", DefaultValueFactory = _ => d.Rows };
        var cmd = new Command("datagen", "Generate a synthetic KuaiRand-format data set with a planted, tab-dependent ground truth")
            { outDir, seed, users, videos, days, rows };
        cmd.SetAction(pr =>
        {
            var config = new SyntheticConfig
            {
                Seed = pr.GetValue(seed), Users = pr.GetValue(users), Videos = pr.GetValue(videos),
                Days = pr.GetValue(days), Rows = pr.GetValue(rows),
            };
            config.Validate();
            var folder = pr.GetValue(outDir)!;
            var clock = Stopwatch.StartNew();
            SyntheticGenerator.Generate(folder, config);
            Console.WriteLine($"wrote {config.Rows:N0} log rows ({config.Users:N0} users, {config.Videos:N0} videos, {config.Days} days) to {folder} in {clock.Elapsed.TotalSeconds:F1}s");
            return 0;
        });
        return cmd;
    }
}
