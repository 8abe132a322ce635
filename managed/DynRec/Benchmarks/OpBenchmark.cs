using System.Diagnostics;
using DynRec.Ops;
using static TorchSharp.torch;

namespace DynRec.Benchmarks;

/// <summary>
/// Forward + backward of each op through <see cref="Functional"/> with the
/// native kernels vs the TorchSharp reference, on the same inputs in the same
/// process. Repetitions are interleaved in short blocks (native block, then
/// reference block, order alternating) until each side has run at least
/// MinSeconds, so drift on a shared machine hits both sides alike; the median
/// repetition is reported. The two paths' outputs and input gradients are
/// compared first (Error) so a fast but wrong path shows.
/// </summary>
public static class OpBenchmark
{
    public sealed record Settings(double MinSeconds = 1.0, int MinRepetitions = 5, int Warmup = 3, double BlockSeconds = 0.1);

    /// <param name="Error">
    /// The larger of the output's max |native - reference| / max |reference| and each input gradient's
    /// ||native - reference|| / ||reference|| (L2). Gradients are compared by norm because a ReLU pre-activation
    /// within rounding of zero can take the other branch in one path, which moves single gradient entries by O(1)
    /// in a correct kernel (measured: one such unit in EPNet's 2048 x 672 hidden layer gave max-relative 5e-2,
    /// L2 2e-3); a wrong kernel gives ~1 either way. The same rule as the GPU benchmark (ops_bench.py).
    /// </param>
    public sealed record Row(string Op, string Shape, double NativeMs, double ReferenceMs, double Ratio, double NativeGflops,
        double Error, int NativeRepetitions, int ReferenceRepetitions);

    public static List<Row> Run(IReadOnlyList<OpCase> cases, Settings settings, Action<Row>? onRow = null)
    {
        var rows = new List<Row>();
        foreach (var c in cases)
        {
            var row = Measure(c, settings);
            rows.Add(row);
            onRow?.Invoke(row);
        }
        return rows;
    }

    public static Row Measure(OpCase c, Settings settings)
    {
        Tensor probe;
        using (no_grad())
        using (var scope = NewDisposeScope())
            probe = scope.MoveToOuter(randn(c.Forward(Kernels.Reference).shape));
        using var probeOwner = probe;

        var error = Disagreement(c, probe);
        for (var i = 0; i < settings.Warmup; i++)
        {
            Step(c, Kernels.Native, probe);
            Step(c, Kernels.Reference, probe);
        }
        // Block sizes from one timed repetition per side.
        int BlockOf(double seconds) => Math.Max(1, (int)Math.Round(settings.BlockSeconds / Math.Max(seconds, 1e-6)));
        var nativeBlock = BlockOf(Step(c, Kernels.Native, probe));
        var referenceBlock = BlockOf(Step(c, Kernels.Reference, probe));

        var native = new List<double>();
        var reference = new List<double>();
        double nativeTotal = 0, referenceTotal = 0;
        for (var round = 0; Needs(native, nativeTotal) || Needs(reference, referenceTotal); round++)
        {
            var nativeFirst = round % 2 == 0;
            for (var side = 0; side < 2; side++)
            {
                var isNative = (side == 0) == nativeFirst;
                var (samples, block, kernels) = isNative ? (native, nativeBlock, Kernels.Native) : (reference, referenceBlock, Kernels.Reference);
                for (var i = 0; i < block; i++)
                {
                    var seconds = Step(c, kernels, probe);
                    samples.Add(seconds);
                    if (isNative) nativeTotal += seconds; else referenceTotal += seconds;
                }
            }
        }
        double nativeMs = Median(native) * 1e3, referenceMs = Median(reference) * 1e3;
        // fwd+bwd of a matrix product costs about 3x its forward.
        var gflops = 3 * c.ForwardFlops / (nativeMs * 1e-3) / 1e9;
        return new Row(c.Op, c.Shape, nativeMs, referenceMs, referenceMs / nativeMs, gflops, error, native.Count, reference.Count);

        bool Needs(List<double> samples, double total) => samples.Count < settings.MinRepetitions || total < settings.MinSeconds;
    }

    // One forward + backward; seconds of wall time.
    private static double Step(OpCase c, Kernels kernels, Tensor probe)
    {
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        var loss = (c.Forward(kernels) * probe).sum();
        autograd.grad([loss], c.Inputs, allow_unused: true);
        return clock.Elapsed.TotalSeconds;
    }

    private static double Disagreement(OpCase c, Tensor probe)
    {
        using var scope = NewDisposeScope();
        (Tensor Output, IList<Tensor> Grads) Eval(Kernels kernels)
        {
            var y = c.Forward(kernels);
            return (y.detach(), autograd.grad([(y * probe).sum()], c.Inputs, allow_unused: true));
        }
        var (yn, gn) = Eval(Kernels.Native);
        var (yr, gr) = Eval(Kernels.Reference);
        var worst = MaxRelError(yn, yr);
        for (var i = 0; i < c.Inputs.Length; i++)
        {
            bool nNull = gn[i] is null || gn[i].IsInvalid, rNull = gr[i] is null || gr[i].IsInvalid;
            if (nNull && rNull) continue;
            // One path giving a gradient the other does not is a disagreement.
            worst = Math.Max(worst, nNull || rNull ? double.PositiveInfinity : L2RelError(gn[i], gr[i]));
        }
        return worst;
    }

    private static double MaxRelError(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return double.PositiveInfinity;
        var scale = b.abs().max().item<float>();
        var diff = (a - b).abs().max().item<float>();
        return diff / Math.Max(scale, 1e-30);
    }

    private static double L2RelError(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return double.PositiveInfinity;
        var scale = b.norm().item<float>();
        var diff = (a - b).norm().item<float>();
        return diff / Math.Max(scale, 1e-30);
    }

    private static double Median(List<double> xs)
    {
        var sorted = xs.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
