using System.CommandLine;
using System.Diagnostics;
using DynRec.Interop;
using DynRec.Layers;
using DynRec.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Cli.Commands;

/// <summary>
/// `dynrec bench-optim`: measures (1) one optimizer step over PEPNet-like dense
/// parameters (58 tensors): TorchSharp's torch.optim.AdamW vs FusedAdamW, and
/// (2) one fused table-batched embedding step (forward + backward with the lazy
/// Adam update) at batch 4096 over an 8-wide table of 10k rows vs 4.37M rows,
/// next to the non-fused path (dense gradient + TorchSharp Adam on the table).
/// Median wall time over --steps after a warm-up, on the CPU.
/// </summary>
public static class BenchOptimCommand
{
    public static Command Create()
    {
        var steps = new Option<int>("--steps") { Description = "Timed steps per case (median reported)", DefaultValueFactory = _ => 30 };
        var threads = CliThreads.Create();
        var dense = new Option<bool>("--dense-table") { Description = "Also time the non-fused dense-gradient embedding path", DefaultValueFactory = _ => true };
        var cmd = new Command("bench-optim", "Benchmark fused Adam and the fused sparse embedding update against TorchSharp on the CPU") { steps, threads, dense };
        cmd.SetAction(pr => Run(pr.GetValue(steps), pr.GetValue(threads), pr.GetValue(dense)));
        return cmd;
    }

    // PEPNet-like dense parameters: EPNet gate, 3 towers [128,672],[64,128],[1,64],
    // and per tower three PPNet gates [128,696] -> [n,128] (biases included).
    private static List<long[]> PepNetShapes()
    {
        var s = new List<long[]> { new[] { 128L, 40 }, new[] { 128L }, new[] { 672L, 128 }, new[] { 672L } };
        for (var tower = 0; tower < 3; tower++)
        {
            s.AddRange(new[] { new[] { 128L, 672 }, new[] { 128L }, new[] { 64L, 128 }, new[] { 64L }, new[] { 1L, 64 }, new[] { 1L } });
            foreach (var n in new[] { 672L, 128, 64 })
                s.AddRange(new[] { new[] { 128L, 696 }, new[] { 128L }, new[] { n, 128 }, new[] { n } });
        }
        return s;
    }

    private static double MedianMs(int steps, Action step)
    {
        for (var i = 0; i < 3; i++) step();
        var times = new List<double>();
        for (var i = 0; i < steps; i++)
        {
            var sw = Stopwatch.StartNew();
            step();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    private static int Run(int steps, int threads, bool denseTable)
    {
        if (steps <= 0) throw new UserException($"--steps must be > 0, got {steps}");
        var used = CliThreads.Apply(threads);
        Console.WriteLine($"# {Native.BuildInfo}");
        Console.WriteLine($"# {Environment.ProcessorCount} logical CPUs, TorchSharp and libdynrec threads {used}");
        manual_seed(1);

        // (1) Dense Adam over PEPNet-like parameters.
        var shapes = PepNetShapes();
        var total = shapes.Sum(s => s.Aggregate(1L, (a, b) => a * b));
        Parameter[] Make() => shapes.Select(s => new Parameter(randn(s))).ToArray();
        void Grads(Parameter[] ps)
        {
            foreach (var p in ps) p.grad = randn(p.shape);
        }
        var theirs = Make();
        var ours = Make();
        Grads(theirs);
        Grads(ours);
        using var torchAdam = optim.AdamW(theirs, lr: 1e-3, beta1: 0.9, beta2: 0.999, weight_decay: 0.01);
        using var fused = new FusedAdamW(ours, lr: 1e-3, weightDecay: 0.01);
        var tTorch = MedianMs(steps, () => torchAdam.step());
        var tFused = MedianMs(steps, fused.Step);
        Console.WriteLine($"adamw step    {shapes.Count} tensors, {total} elements   TorchSharp {tTorch,8:F3} ms   fused {tFused,8:F3} ms   speedup {tTorch / tFused,5:F1}x");

        // (2) Fused sparse embedding step vs vocabulary size.
        const long batch = 4096;
        foreach (var vocab in new[] { 10_000L, 4_370_000L })
        {
            using var tbe = new TableBatchedEmbedding(new[] { new EmbeddingFieldConfig("user_id", vocab, 8) },
                new SparseOptimizerConfig(SparseOptimizerKind.LazyAdam, 1e-3f));
            var ids = randint(1, vocab, new[] { batch, 1L }, dtype: ScalarType.Int64);
            var probe = randn(batch, 8);
            var tStep = MedianMs(steps, () =>
            {
                using var scope = NewDisposeScope();
                (tbe.forward(ids) * probe).sum().backward();
            });
            var line = $"tbe step      B={batch} V={vocab,-8} dim=8              fused lazy Adam {tStep,8:F3} ms";
            if (denseTable)
            {
                tbe.Fused = false;
                using var adam = optim.Adam(new[] { tbe.Weights }, lr: 1e-3, beta1: 0.9, beta2: 0.999);
                var tDense = MedianMs(Math.Max(3, steps / 5), () =>
                {
                    using var scope = NewDisposeScope();
                    adam.zero_grad();
                    (tbe.forward(ids) * probe).sum().backward();
                    adam.step();
                });
                line += $"   dense grad + TorchSharp Adam {tDense,9:F3} ms";
            }
            Console.WriteLine(line);
        }
        return 0;
    }
}
