using System.CommandLine;
using System.Globalization;
using DynRec.Benchmarks;
using DynRec.Config;
using DynRec.Interop;
using DynRec.Ops;
using DynRec.Training;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Cli.Commands;

/// <summary>
/// `dynrec bench`: training-step throughput of a model with the native kernels
/// and with the pure-TorchSharp reference path, measured in the same process on
/// the same batches from the same initial weights; prints samples/s and the ratio.
/// The two paths alternate for --rounds R rounds (reference first in even
/// rounds, native first in odd ones; the default 2 gives reference, native,
/// native, reference, so a steady drift on a shared machine hits both alike);
/// LibTorch and libdynrec get the same thread count. `dynrec bench ops` times
/// the single ops (<see cref="BenchOpsCommand"/>).
/// </summary>
public static class BenchCommand
{
    /// <summary>Warm-up steps of a path's later rounds: the JIT has optimized its code in the first round's warm-up.</summary>
    public const int LaterWarmup = 3;

    public sealed record Arguments(string Model, string Data, string Device, int Steps, int Warmup, int? BatchSize, long Seed, IReadOnlyList<string> Sets,
        int Threads = 0, int Rounds = 2, string KernelPaths = "both", bool Phases = false);

    public static Command Create(TrainingServices services)
    {
        var model = new Option<string>("--model") { Description = $"Model: {string.Join(", ", ModelNames.All)}", DefaultValueFactory = _ => "pepnet" };
        var data = new Option<string>("--data") { Description = "synthetic, a KuaiRand folder or a table folder (dynrec-table.yaml)", DefaultValueFactory = _ => "synthetic" };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var steps = new Option<int>("--steps") { Description = "Timed training steps per path and round", DefaultValueFactory = _ => 25 };
        var warmup = new Option<int>("--warmup")
        {
            Description = $"Untimed steps before each path's first round (later rounds and --phases: at most {LaterWarmup}). .NET's tiered JIT " +
                          "optimizes a method after ~30 calls, and most of a step's managed code runs once a step: with a few warm-up " +
                          "steps a short run times unoptimized code (PEPNet at 5: ~25% fewer samples/s)",
            DefaultValueFactory = _ => 40,
        };
        var batch = new Option<int?>("--batch-size") { Description = "Rows per step (default: the model's train.batch_size)" };
        var seed = new Option<long>("--seed") { Description = "Seed of weights and data", DefaultValueFactory = _ => 2024 };
        var sets = new Option<string[]>("--set") { Description = "Override a config key, e.g. --set model.dnn_units=[512,256]" };
        var threads = CliThreads.Create();
        var rounds = new Option<int>("--rounds")
        {
            Description = "Alternate the two paths this many times (--steps each per round); the default 2 runs them in the order A B B A, which cancels a steady drift",
            DefaultValueFactory = _ => 2,
        };
        var kernels = new Option<string>("--kernels")
        {
            Description = "Paths to time: both (and their ratio), native or reference (one path alone, e.g. under a profiler)",
            DefaultValueFactory = _ => "both",
        };
        var phases = new Option<bool>("--phases")
        {
            Description = "Also time each step's phases (forward, loss, backward, optimizer) with a device synchronization after each: " +
                          "host issue time vs wall time says whether the host or the device bounds a phase",
        };
        var cmd = new Command("bench", "Training-step samples/s: native kernels vs the TorchSharp reference, same run")
            { model, data, device, steps, warmup, batch, seed, sets, threads, rounds, kernels, phases };
        cmd.Subcommands.Add(BenchOpsCommand.Create());
        cmd.SetAction(pr => Run(new Arguments(pr.GetValue(model)!, pr.GetValue(data)!, pr.GetValue(device)!, pr.GetValue(steps), pr.GetValue(warmup),
            pr.GetValue(batch), pr.GetValue(seed), pr.GetValue(sets) ?? [], pr.GetValue(threads), pr.GetValue(rounds),
            pr.GetValue(kernels)!, pr.GetValue(phases)), services));
        return cmd;
    }

    public static int Run(Arguments a, TrainingServices services)
    {
        var device = TrainingOptionParsing.ParseDevice(a.Device);
        if (a.Steps < 1) throw new UserException($"--steps must be >= 1, got {a.Steps}");
        if (a.Warmup < 0) throw new UserException($"--warmup must be >= 0, got {a.Warmup}");
        if (a.Rounds < 1) throw new UserException($"--rounds must be >= 1, got {a.Rounds}");
        if (a.Threads < 0) throw new UserException($"--threads must be >= 0, got {a.Threads}");
        var paths = a.KernelPaths.Trim().ToLowerInvariant() switch
        {
            "both" => new[] { Kernels.Reference, Kernels.Native },
            "native" => new[] { Kernels.Native },
            "reference" => new[] { Kernels.Reference },
            _ => throw new UserException($"--kernels: unknown kernels '{a.KernelPaths}'; valid: both, native, reference"),
        };
        var overrides = TrainingOptionParsing.Overrides(a.Sets, null, a.Seed);
        if (a.BatchSize is { } b) overrides.Add($"train.batch_size={b}");
        var config = RunConfig.Load(ModelNames.Validate(a.Model), null, overrides);
        using var data = services.Load(a.Data);

        var threads = CliThreads.Apply(a.Threads);
        var loadStart = MachineInfo.LoadAverage();
        var models = new Dictionary<Kernels, (Models.MultiTaskModel Model, ITrainingOptimizer Optimizer)>();
        var results = new Dictionary<Kernels, StepBenchmark.Result>();
        var phaseTimes = new Dictionary<Kernels, StepBenchmark.PhaseTimes>();
        try
        {
            foreach (var kernels in paths)
            {
                random.manual_seed(config.Train.Seed);
                var model = services.BuildModel(config.ModelName, data.Schema, config.Model, kernels);
                model.Kernels = kernels;
                model.to(device);
                models[kernels] = (model, Trainer.CreateOptimizer(model, config.Train));
            }
            for (var round = 0; round < a.Rounds; round++)
            foreach (var kernels in round % 2 == 0 ? paths : paths.Reverse())
            {
                var (model, optimizer) = models[kernels];
                // Each path's first round starts from the same dropout generator state, so their first losses compare.
                if (round == 0) random.manual_seed(config.Train.Seed + 1);
                var warm = round == 0 ? a.Warmup : Math.Min(a.Warmup, LaterWarmup);
                var r = StepBenchmark.Measure(model, optimizer, data.Train, config.Train.BatchSize, warm, a.Steps, device);
                results[kernels] = results.TryGetValue(kernels, out var sum) ? sum.Add(r) : r;
            }
            if (a.Phases)
                foreach (var kernels in paths)
                {
                    var (model, optimizer) = models[kernels];
                    phaseTimes[kernels] = StepBenchmark.MeasurePhases(model, optimizer, data.Train, config.Train.BatchSize,
                        Math.Min(a.Warmup, LaterWarmup), a.Steps, device);
                }
        }
        finally
        {
            foreach (var (model, optimizer) in models.Values)
            {
                optimizer.Dispose();
                model.Dispose();
            }
        }
        Console.WriteLine($"# {MachineInfo.CpuModel()}, {MachineInfo.LogicalCpus} logical CPUs; LibTorch and libdynrec threads {threads}; " +
            $"load average {loadStart} -> {MachineInfo.LoadAverage()}; {a.Rounds} round(s) of {a.Steps} steps per path");

        var table = new Table().Title($"{config.ModelName} training step, batch {config.Train.BatchSize}, {device.type.ToString().ToLowerInvariant()}, {threads} threads")
            .AddColumn("kernels").AddColumn(new TableColumn("samples/s").RightAligned()).AddColumn(new TableColumn("ms/step").RightAligned())
            .AddColumn(new TableColumn("first loss").RightAligned());
        foreach (var (kernels, r) in results)
            table.AddRow(kernels.ToString().ToLowerInvariant(), r.SamplesPerSecond.ToString("N0", CultureInfo.InvariantCulture),
                (r.Seconds * 1000 / r.Steps).ToString("F2", CultureInfo.InvariantCulture), r.FirstLoss.ToString("F6", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
        if (results.Count == 2)
        {
            var ratio = results[Kernels.Native].SamplesPerSecond / results[Kernels.Reference].SamplesPerSecond;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"native / reference: {ratio:F2}x samples/s"));
        }
        if (phaseTimes.Count > 0) PrintPhases(phaseTimes);
        if (device.type == DeviceType.CUDA && Native.CudaGraphs)
        {
            // Whether the training loop's calls repeated exactly (buffers reused) and so replayed cached graphs.
            var g = Native.CudaGraphCounters;
            Console.WriteLine($"cuda graphs: {g.Captured} captured, {g.Replayed} replayed, {g.Failed} refused");
        }
        return 0;
    }

    // One line per path (plain text: it is read from logs, often a GPU machine's).
    private static void PrintPhases(Dictionary<Kernels, StepBenchmark.PhaseTimes> phases)
    {
        Console.WriteLine("ms/step by phase, a device synchronization after each (issue = host time to hand the phase's work out):");
        foreach (var (kernels, p) in phases)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {kernels.ToString().ToLowerInvariant(),-9} forward {p.ForwardMs:F3} (issue {p.ForwardIssueMs:F3})  loss {p.LossMs:F3}  " +
                $"backward {p.BackwardMs:F3} (issue {p.BackwardIssueMs:F3})  optimizer {p.OptimizerMs:F3} (issue {p.OptimizerIssueMs:F3})  " +
                $"sum {p.TotalMs:F3}"));
    }
}
