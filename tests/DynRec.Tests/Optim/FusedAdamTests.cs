using DynRec.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Tests.Optim;

[TestFixture]
public class FusedAdamTests
{
    // Exact equality of every element (shapes must match).
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    // Odd shapes: matrices, vectors, a scalar-like tensor, one larger than a native chunk.
    private static readonly long[][] Shapes = { new[] { 13L, 7L }, new[] { 5L }, new[] { 1L }, new[] { 129L, 131L }, new[] { 3L, 4L, 5L } };

    private static Parameter[] MakeParams(long seed) =>
        Shapes.Select((s, i) => new Parameter(TestUtil.Randn(seed + i, s))).ToArray();

    // The same gradient through both optimizers: loss = sum(p * G) gives p.grad == G exactly.
    private static void SetGrads(IEnumerable<Parameter> ps, int step)
    {
        var i = 0;
        foreach (var p in ps)
        {
            var g = TestUtil.Randn(1000 * step + i++, p.shape);
            (p * g).sum().backward();
        }
    }

    [TestCase(false, 0.0)]
    [TestCase(false, 0.01)]
    [TestCase(true, 0.05)]
    [TestCase(true, 0.0)]
    public void MatchesTorchSharpAdamOver100Steps(bool adamW, double weightDecay)
    {
        using var scope = NewDisposeScope();
        var ours = MakeParams(1);
        var theirs = MakeParams(1);
        using var fused = adamW
            ? new FusedAdamW(ours, lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: weightDecay)
            : new FusedAdam(ours, lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: weightDecay);
        using optim.Optimizer reference = adamW
            ? optim.AdamW(theirs, lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: weightDecay)
            : optim.Adam(theirs, lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: weightDecay);
        for (var step = 1; step <= 100; step++)
        {
            using var stepScope = NewDisposeScope();
            fused.ZeroGrad();
            reference.zero_grad();
            SetGrads(ours, step);
            SetGrads(theirs, step);
            fused.Step();
            reference.step();
        }
        for (var i = 0; i < ours.Length; i++)
        {
            Assert.That(TestUtil.RelativeError(ours[i], theirs[i]), Is.LessThanOrEqualTo(1e-6), $"parameter {i}");
            Assert.That(fused.StepCount(i), Is.EqualTo(100));
        }
        Assert.That(TestUtil.RelativeError(ours[0], MakeParams(1)[0]), Is.GreaterThan(1e-3), "parameters moved");
    }

    [Test]
    public void ZeroGradDropsGradientsAndAParameterWithoutOneIsSkippedAsTorchAdamSkipsIt()
    {
        using var scope = NewDisposeScope();
        var ours = MakeParams(3);
        var theirs = MakeParams(3);
        using var fused = new FusedAdam(ours, lr: 1e-2);
        using var reference = optim.Adam(theirs, lr: 1e-2);
        for (var step = 1; step <= 6; step++)
        {
            using var stepScope = NewDisposeScope();
            fused.ZeroGrad();
            foreach (var p in theirs) p.grad = null;  // torch.optim's zero_grad(set_to_none=True), the Python default
            Assert.That(ours.All(p => p.grad is null), "gradients dropped, not zero-filled");
            // Parameter 1 gets a gradient on odd steps only: with momentum, a zero gradient would still move it.
            var give = step % 2 == 1 ? Enumerable.Range(0, ours.Length).ToArray() : new[] { 0, 2, 3, 4 };
            SetGrads(give.Select(i => ours[i]), step);
            SetGrads(give.Select(i => theirs[i]), step);
            fused.Step();
            reference.step();
        }
        for (var i = 0; i < ours.Length; i++)
            Assert.That(TestUtil.RelativeError(ours[i], theirs[i]), Is.LessThanOrEqualTo(1e-6), $"parameter {i}");
        Assert.That(fused.StepCount(1), Is.EqualTo(3));
        Assert.That(fused.StepCount(0), Is.EqualTo(6));
    }

    [Test]
    public void ClippingMatchesClipGradNormThenAdamAndReportsTheNorm()
    {
        using var scope = NewDisposeScope();
        var ours = MakeParams(2);
        var theirs = MakeParams(2);
        using var fused = new FusedAdam(ours, lr: 1e-2, maxGradNorm: 0.5);
        using var reference = optim.Adam(theirs, lr: 1e-2, beta1: 0.9, beta2: 0.999);
        for (var step = 1; step <= 20; step++)
        {
            using var stepScope = NewDisposeScope();
            fused.ZeroGrad();
            reference.zero_grad();
            SetGrads(ours, step);
            SetGrads(theirs, step);
            var norm = nn.utils.clip_grad_norm_(theirs, 0.5);
            fused.Step();
            reference.step();
            Assert.That(fused.LastGradNorm, Is.EqualTo(norm).Within(1e-5 * norm), $"norm at step {step}");
        }
        for (var i = 0; i < ours.Length; i++)
            Assert.That(TestUtil.RelativeError(ours[i], theirs[i]), Is.LessThanOrEqualTo(1e-5), $"parameter {i}");
    }

    [Test]
    public void StateDictRoundTripResumesExactly()
    {
        using var scope = NewDisposeScope();
        var a = MakeParams(3);
        using var first = new FusedAdamW(a, lr: 1e-2);
        for (var step = 1; step <= 5; step++)
        {
            first.ZeroGrad();
            SetGrads(a, step);
            first.Step();
        }
        var saved = first.StateDict();
        var b = a.Select(p => new Parameter(p.detach().clone())).ToArray();
        using var resumed = new FusedAdamW(b, lr: 1e-2);
        resumed.LoadStateDict(saved);
        Assert.That(saved["0.step"].item<long>(), Is.EqualTo(5));
        for (var step = 6; step <= 8; step++)
        {
            first.ZeroGrad();
            resumed.ZeroGrad();
            SetGrads(a, step);
            SetGrads(b, step);
            first.Step();
            resumed.Step();
        }
        for (var i = 0; i < a.Length; i++)
        {
            Assert.That(Same(a[i], b[i]), Is.True, $"parameter {i}");
            Assert.That(Same(first.ExpAvgSq[i], resumed.ExpAvgSq[i]), Is.True, $"exp_avg_sq {i}");
        }
    }

    [Test]
    public void ParametersWithoutGradAreSkipped()
    {
        using var scope = NewDisposeScope();
        var ps = MakeParams(4);
        using var fused = new FusedAdam(ps, lr: 1e-2);
        var before = ps[1].detach().clone();
        (ps[0] * 2).sum().backward();
        fused.Step();
        Assert.That(Same(ps[1], before), Is.True);
        Assert.That(fused.StepCount(0), Is.EqualTo(1));
        Assert.That(fused.StepCount(1), Is.EqualTo(0));
    }

    [Test]
    public void LoadStateDictRejectsWrongShapes()
    {
        using var scope = NewDisposeScope();
        using var fused = new FusedAdam(MakeParams(5));
        var state = fused.StateDict();
        state["1.exp_avg"] = zeros(7);
        Assert.That(() => fused.LoadStateDict(state), Throws.ArgumentException.With.Message.Contains("parameter 1"));
    }
}
