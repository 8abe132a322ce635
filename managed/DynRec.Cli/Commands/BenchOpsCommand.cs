using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using DynRec.Benchmarks;
using DynRec.Interop;
using DynRec.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace DynRec.Cli.Commands;

/// <summary>
/// `dynrec bench ops`: forward + backward of each dynamic-weight op at FunRec
/// sizes (batch 2048), native kernels vs the TorchSharp reference in one
/// process, with the two paths' agreement; see <see cref="OpBenchmark"/>.
/// </summary>
public static class BenchOpsCommand
{
    public sealed record Report(string Machine, int LogicalCpus, int Threads, string LoadAverageStart, string LoadAverageEnd,
        string BuildInfo, OpBenchmarkSizes Sizes, double MinSeconds, IReadOnlyList<OpBenchmark.Row> Rows);

    public static Command Create()
    {
        var threads = CliThreads.Create();
        var minSeconds = new Option<double>("--min-seconds") { Description = "Least timed seconds per op and side", DefaultValueFactory = _ => 1.0 };
        var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file" };
        var tiny = new Option<bool>("--tiny") { Description = "Tiny sizes (a quick smoke run, not the issue's shapes)" };
        var seed = new Option<long>("--seed") { Description = "Seed of the random inputs", DefaultValueFactory = _ => 1 };
        var batch = new Option<int?>("--batch") { Description = "Rows per call instead of the sizes' own (FunRec: 2048), e.g. 16 for small-batch scoring" };
        var ops = new Option<string?>("--ops") { Description = "Only these ops, comma-separated (e.g. embeddings,apg_layer; for a profiler)" };
        var cmd = new Command("ops", "Per-op forward+backward time, native kernels vs the TorchSharp reference, at FunRec sizes (batch 2048)")
            { threads, minSeconds, json, tiny, seed, batch, ops };
        cmd.SetAction(pr => Run(pr.GetValue(threads), pr.GetValue(minSeconds), pr.GetValue(json), pr.GetValue(tiny), pr.GetValue(seed),
            pr.GetValue(batch), pr.GetValue(ops)));
        return cmd;
    }

    public static int Run(int threads, double minSeconds, string? jsonPath, bool tiny, long seed, int? batch = null, string? ops = null)
    {
        if (threads < 0) throw new UserException($"--threads must be >= 0, got {threads}");
        if (batch is < 1) throw new UserException($"--batch must be >= 1, got {batch}");
        if (!(minSeconds > 0)) throw new UserException($"--min-seconds must be > 0, got {minSeconds}");
        var used = CliThreads.Apply(threads);
        var loadStart = MachineInfo.LoadAverage();
        var sizes = tiny ? OpBenchmarkSizes.Tiny : OpBenchmarkSizes.FunRec;
        if (batch is { } perCall) sizes = sizes with { Batch = perCall };
        Console.WriteLine($"# {MachineInfo.CpuModel()}, {MachineInfo.LogicalCpus} logical CPUs; LibTorch and libdynrec threads {used}; load average {loadStart}");
        Console.WriteLine($"# batch {sizes.Batch}; forward+backward through Functional; median of interleaved repetitions, >= {minSeconds} s per side");

        manual_seed(seed);
        var cases = OpBenchmarkCases.Create(sizes);
        if (ops is not null)
        {
            var wanted = ops.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet();
            var known = cases.Select(c => c.Op).Distinct().ToList();
            if (wanted.FirstOrDefault(o => !known.Contains(o)) is { } unknown)
                throw new UserException($"--ops: unknown op '{unknown}'; valid: {string.Join(", ", known)}");
            foreach (var dropped in cases.Where(c => !wanted.Contains(c.Op)))
                foreach (var t in dropped.Inputs) t.Dispose();
            cases = cases.Where(c => wanted.Contains(c.Op)).ToList();
        }
        List<OpBenchmark.Row> rows;
        try
        {
            rows = OpBenchmark.Run(cases, new OpBenchmark.Settings(MinSeconds: minSeconds),
                r => Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {r.Op} {r.Shape}: {r.Ratio:F2}x")));
        }
        finally
        {
            foreach (var c in cases)
            foreach (var t in c.Inputs) t.Dispose();
        }
        var loadEnd = MachineInfo.LoadAverage();

        var table = new Table().Title($"ops fwd+bwd, batch {sizes.Batch}, {used} threads, load {loadStart} -> {loadEnd}")
            .AddColumn("op").AddColumn("shape").AddColumn(new TableColumn("native ms").RightAligned())
            .AddColumn(new TableColumn("reference ms").RightAligned()).AddColumn(new TableColumn("ratio").RightAligned())
            .AddColumn(new TableColumn("native GFLOP/s").RightAligned()).AddColumn(new TableColumn("rel error").RightAligned())
            .Caption("rel error: output max|diff|/max|ref|, input gradients L2 |diff|/|ref|");
        string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);
        foreach (var r in rows)
            table.AddRow(Markup.Escape(r.Op), Markup.Escape(r.Shape), F(r.NativeMs, "F3"), F(r.ReferenceMs, "F3"), F(r.Ratio, "F2") + "x",
                r.NativeGflops > 0 ? F(r.NativeGflops, "F1") : "-", F(r.Error, "0.0e+0"));
        AnsiConsole.Write(table);

        if (jsonPath is not null)
        {
            var report = new Report(MachineInfo.CpuModel(), MachineInfo.LogicalCpus, used, loadStart, loadEnd, Native.BuildInfo, sizes, minSeconds, rows);
            AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(report, new JsonSerializerOptions
                {
                    WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
                    NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
                }));
            Console.WriteLine($"wrote {jsonPath}");
        }
        return 0;
    }
}
