using DynRec.Benchmarks;
using static TorchSharp.torch;

namespace DynRec.Tests.Benchmarks;

/// <summary>The op benchmark at tiny sizes: a smoke run, no timing assertions.</summary>
public class OpBenchmarkTests
{
    [Test]
    public void TinyRunGivesOneAgreeingRowPerCaseWithFiniteRatios()
    {
        manual_seed(3);
        var cases = OpBenchmarkCases.Create(OpBenchmarkSizes.Tiny);
        try
        {
            var rows = OpBenchmark.Run(cases, new OpBenchmark.Settings(MinSeconds: 0.005, MinRepetitions: 3, Warmup: 1, BlockSeconds: 0.001));
            Assert.That(rows.Select(r => r.Op), Is.EqualTo(new[]
                { "gate_nu", "gate_nu", "gated_linear", "epnet", "hyper_linear", "hyper_linear", "hyper_linear", "apg_layer", "apg_layer", "apg_layer", "embeddings" }));
            foreach (var r in rows)
            {
                Assert.That(r.NativeMs, Is.GreaterThan(0), r.Shape);
                Assert.That(r.ReferenceMs, Is.GreaterThan(0), r.Shape);
                Assert.That(double.IsFinite(r.Ratio) && r.Ratio > 0, r.Shape);
                Assert.That(double.IsFinite(r.NativeGflops) && (r.NativeGflops > 0 || r.Op == "embeddings"), r.Shape);
                Assert.That(r.Error, Is.LessThan(1e-4), r.Shape);
                Assert.That(r.NativeRepetitions, Is.GreaterThanOrEqualTo(3), r.Shape);
                Assert.That(r.ReferenceRepetitions, Is.GreaterThanOrEqualTo(3), r.Shape);
            }
        }
        finally
        {
            foreach (var c in cases)
            foreach (var t in c.Inputs) t.Dispose();
        }
    }

    [Test]
    public void AWrongPathShowsAsALargeError()
    {
        manual_seed(4);
        var x = randn(6, 5).requires_grad_();
        // "Native" doubles the output: the agreement column must flag it.
        var wrong = new OpCase("wrong", "6x5", 60, [x], k => k == DynRec.Ops.Kernels.Native ? 2 * x.sin() : x.sin());
        var row = OpBenchmark.Measure(wrong, new OpBenchmark.Settings(MinSeconds: 0.001, MinRepetitions: 1, Warmup: 0));
        Assert.That(row.Error, Is.GreaterThan(0.4));
        x.Dispose();
    }

    [Test]
    public void AReluInputAtZeroTakingTheOtherBranchIsNotADisagreement()
    {
        manual_seed(5);
        // Every input far from ReLU's kink except one within "rounding" of it, which the "native" path's tiny
        // shift sends to the other branch: single gradient entry moved by O(1), as a correct kernel can do.
        var r = randn(256, 256);
        var x = (r.sign() * (r.abs() + 0.1)).index_put_(tensor(1e-8f), tensor(3L), tensor(7L)).requires_grad_();
        var flipped = new OpCase("flip", "256x256", 1, [x],
            k => k == DynRec.Ops.Kernels.Native ? nn.functional.relu(x - 2e-8f) : nn.functional.relu(x));
        var row = OpBenchmark.Measure(flipped, new OpBenchmark.Settings(MinSeconds: 0.001, MinRepetitions: 1, Warmup: 0));
        Assert.That(row.Error, Is.LessThan(1e-2));
        Assert.That(row.Error, Is.GreaterThan(1e-4), "the flip still shows, as a small L2 share");
        x.Dispose();
        r.Dispose();
    }
}
