using DynRec.Interop;
using DynRec.Ops;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DynRec.Tests.Ops;

// The reference ops against explicit per-row / per-tower loops (the math of
// DESIGN.md "Ops"), and the native path of each op against the reference,
// forward and backward, on odd shapes.
[TestFixture]
public class DynamicWeightOpsTests
{
    [Test]
    public void HyperLinearMatchesPerRowGeneratedMatrices()
    {
        using var scope = NewDisposeScope();
        long n = 5, nIn = 3, nOut = 4, nCond = 2;
        var x = TestUtil.Randn(1, n, nIn);
        var z = TestUtil.Randn(2, n, nCond);
        var g = TestUtil.Randn(3, nIn * nOut, nCond);
        var gBias = TestUtil.Randn(4, nIn * nOut);
        var gb = TestUtil.Randn(5, nOut, nCond);
        var gbBias = TestUtil.Randn(6, nOut);
        var y = Reference.HyperLinear(x, z, g, gBias, gb, gbBias, Activation.Tanh);
        for (long i = 0; i < n; i++)
            for (long b = 0; b < nOut; b++)
            {
                double acc = (z[i] * gb[b]).sum().item<float>() + gbBias[b].item<float>();
                for (long a = 0; a < nIn; a++)
                {
                    var s = (z[i] * g[a * nOut + b]).sum().item<float>() + gBias[a * nOut + b].item<float>();
                    acc += x[i, a].item<float>() * s;
                }
                Assert.That(y[i, b].item<float>(), Is.EqualTo(Math.Tanh(acc)).Within(1e-5), $"y[{i},{b}]");
            }
    }

    [TestCase(Kernels.Native)]
    [TestCase(Kernels.Reference)]
    public void HyperLinearWithSharedConditionsEqualsTheConditionRepeatedPerRow(Kernels kernels)
    {
        // z [N / R, n_cond]: each condition row serves R consecutive rows; same outputs and
        // parameter gradients as z repeated per row, and z's gradient summed over its rows.
        using var scope = NewDisposeScope();
        long groups = 7, rows = 4, nIn = 6, nOut = 5, nCond = 3;
        var x = TestUtil.Randn(1, groups * rows, nIn);
        var z = TestUtil.Randn(2, groups, nCond).requires_grad_();
        var zRows = z.detach().repeat_interleave(rows, 0).requires_grad_();
        var g = TestUtil.Randn(3, nIn * nOut, nCond).requires_grad_();
        var gBias = TestUtil.Randn(4, nIn * nOut);
        var gb = TestUtil.Randn(5, nOut, nCond);
        var probe = TestUtil.Randn(6, groups * rows, nOut);
        var shared = Functional.HyperLinear(x, z, g, gBias, gb, null, Activation.Sigmoid, kernels);
        (shared * probe).sum().backward();
        var gradG = g.grad!.clone();
        g.grad!.zero_();
        var perRow = Functional.HyperLinear(x, zRows, g, gBias, gb, null, Activation.Sigmoid, kernels);
        (perRow * probe).sum().backward();
        Assert.That(TestUtil.RelativeError(shared, perRow), Is.LessThan(1e-5));
        Assert.That(TestUtil.RelativeError(gradG, g.grad!), Is.LessThan(1e-5));
        Assert.That(TestUtil.RelativeError(z.grad!, zRows.grad!.view(groups, rows, nCond).sum(1)), Is.LessThan(1e-5));
        var e = Assert.Throws<ArgumentException>(() => Functional.HyperLinear(x, z[..5], g, gBias, gb, null, Activation.None, kernels));
        Assert.That(e!.Message, Does.Contain("not a multiple"));
    }

    [TestCase(GatePosition.Output)]
    [TestCase(GatePosition.Input)]
    public void TowerBatchedGatedLinearEqualsOneCallPerTower(GatePosition position)
    {
        using var scope = NewDisposeScope();
        long towers = 3, batch = 7, nIn = 5, nOut = 4;
        var x = TestUtil.Randn(1, batch, nIn);
        var w = TestUtil.Randn(2, towers, nOut, nIn);
        var b = TestUtil.Randn(3, towers, nOut);
        var gated = position == GatePosition.Output ? nOut : nIn;
        var delta = TestUtil.Randn(4, batch, towers * gated).sigmoid() * 2;
        var all = Reference.GatedLinearTowers(x, w, b, delta, Activation.Relu, position);
        var stacked = Reference.GatedLinearTowers(x.unsqueeze(0).expand(towers, batch, nIn), w, b, delta, Activation.Relu, position);
        for (var t = 0; t < towers; t++)
        {
            var d = delta.narrow(1, t * gated, gated);
            var expected = position == GatePosition.Output
                ? d * F.relu(F.linear(x, w[t], b[t]))
                : F.relu(F.linear(d * x, w[t], b[t]));
            Assert.That(TestUtil.RelativeError(all[t], expected), Is.LessThan(1e-6), $"tower {t}");
            Assert.That(TestUtil.RelativeError(stacked[t], expected), Is.LessThan(1e-6), $"tower {t}, per-tower input");
            Assert.That(TestUtil.RelativeError(
                Reference.GatedLinear(x, w[t], b[t], d, Activation.Relu, position), expected), Is.LessThan(1e-6));
        }
    }

    [Test]
    public void EpNetGateSeesNoGradientThroughTheEmbeddingInput()
    {
        using var scope = NewDisposeScope();
        var domain = TestUtil.Randn(1, 4, 3).requires_grad_(true);
        var emb = TestUtil.Randn(2, 4, 6).requires_grad_(true);
        var w1 = TestUtil.Randn(3, 6, 9);
        var w2 = TestUtil.Randn(4, 6, 6);
        Reference.EpNet(domain, emb, w1, null, w2, null, 2f).sum().backward();
        // With E's gate input stopped, dO/dE = delta exactly.
        var delta = Reference.GateNu(cat(new[] { domain, emb }, 1), w1, null, w2, null, 2f).detach();
        Assert.That(TestUtil.RelativeError(emb.grad!, delta), Is.LessThan(1e-6));
        Assert.That(domain.grad, Is.Not.Null);
    }

    [TestCase(10L, 7L, 4, 2, 2L, 4L)]
    [TestCase(560L, 256L, 4, 4, 64L, 64L)]
    [TestCase(3L, 9L, 4, 4, 1L, 1L)]
    public void ApgSizesFollowFunRec(long n, long m, int mfK, int mfP, long k, long p)
    {
        var spec = ApgLayerSpec.Create(ApgMode.UvSharedMfP, n, m, mfK, mfP);
        Assert.That((spec.K, spec.P), Is.EqualTo((k, p)));
    }

    [Test]
    public void ApgUvSharedChainIsDenseThenGeneratedThenDense()
    {
        using var scope = NewDisposeScope();
        var spec = ApgLayerSpec.Create(ApgMode.UvShared, 6, 5, 2, 0, Activation.Tanh, Activation.Relu);
        long k = spec.K, batch = 4, cond = 3;
        var x = TestUtil.Randn(1, batch, 6);
        var z = TestUtil.Randn(2, batch, cond);
        var w = new ApgLayerWeights
        {
            Nk = new DenseWeights(TestUtil.Randn(3, k, 6), TestUtil.Randn(4, k)),
            Kk = new GeneratedWeights(TestUtil.Randn(5, k * k, cond), TestUtil.Randn(6, k * k), TestUtil.Randn(7, k, cond), null),
            Km = new DenseWeights(TestUtil.Randn(8, 5, k), null),
        };
        var h = tanh(F.linear(x, w.Nk.Weight, w.Nk.Bias));
        h = Reference.HyperLinear(h, z, w.Kk.G, w.Kk.GBias, w.Kk.Gb, w.Kk.GbBias, Activation.Tanh);
        var expected = F.relu(F.linear(h, w.Km.Weight));
        Assert.That(TestUtil.RelativeError(Reference.ApgLayer(x, z, w, spec), expected), Is.LessThan(1e-6));
        var missing = w with { Km = null };
        var e = Assert.Throws<ArgumentException>(() => Reference.ApgLayer(x, z, missing, spec));
        Assert.That(e!.Message, Does.Contain("'km'"));
    }

    private static IEnumerable<TestCaseData> OpCases()
    {
        yield return new TestCaseData("hyper_linear", 1L, 13L, 7L, 3L);
        yield return new TestCaseData("hyper_linear", 33L, 5L, 9L, 11L);
        yield return new TestCaseData("hyper_linear_shared", 21L, 5L, 9L, 4L);  // 7 condition rows, 3 rows each
        yield return new TestCaseData("gated_linear_towers_output", 17L, 9L, 5L, 3L);
        yield return new TestCaseData("gated_linear_towers_input", 17L, 9L, 5L, 3L);
        yield return new TestCaseData("epnet", 21L, 6L, 19L, 1L);
        yield return new TestCaseData("apg_layer", 9L, 23L, 10L, 5L);
    }

    [TestCaseSource(nameof(OpCases))]
    public void NativeAndReferenceAgreeOnOutputsAndGradients(string op, long batch, long a, long b, long c)
    {
        using var scope = NewDisposeScope();
        Func<Kernels, Tensor> run;
        List<Tensor> leaves;
        switch (op)
        {
            case "hyper_linear":
            {
                var x = Leaf(1, batch, a); var z = Leaf(2, batch, c); var g = Leaf(3, a * b, c);
                var gB = Leaf(4, a * b); var gb = Leaf(5, b, c); var gbB = Leaf(6, b);
                leaves = new() { x, z, g, gB, gb, gbB };
                run = k => Functional.HyperLinear(x, z, g, gB, gb, gbB, Activation.LeakyRelu, k);
                break;
            }
            case "hyper_linear_shared":
            {
                var x = Leaf(1, batch, a); var z = Leaf(2, batch / 3, c); var g = Leaf(3, a * b, c);
                var gB = Leaf(4, a * b); var gb = Leaf(5, b, c); var gbB = Leaf(6, b);
                leaves = new() { x, z, g, gB, gb, gbB };
                run = k => Functional.HyperLinear(x, z, g, gB, gb, gbB, Activation.Tanh, k);
                break;
            }
            case "gated_linear_towers_output" or "gated_linear_towers_input":
            {
                var position = op.EndsWith("output") ? GatePosition.Output : GatePosition.Input;
                var x = Leaf(1, batch, a); var w = Leaf(2, c, b, a); var bias = Leaf(3, c, b);
                var delta = Leaf(4, batch, c * (position == GatePosition.Output ? b : a));
                leaves = new() { x, w, bias, delta };
                run = k => Functional.GatedLinearTowers(x, w, bias, delta, Activation.Relu, position, k);
                break;
            }
            case "epnet":
            {
                var domain = Leaf(1, batch, a); var emb = Leaf(2, batch, b);
                var w1 = Leaf(3, b, a + b); var b1 = Leaf(4, b); var w2 = Leaf(5, b, b); var b2 = Leaf(6, b);
                leaves = new() { domain, emb, w1, b1, w2, b2 };
                run = k => Functional.EpNet(domain, emb, w1, b1, w2, b2, 2f, k);
                break;
            }
            default:
            {
                var spec = ApgLayerSpec.Create(ApgMode.UvSharedMfP, a, b, 4, 2, Activation.None, Activation.Relu);
                var x = Leaf(1, batch, a); var z = Leaf(2, batch, c);
                var w = new ApgLayerWeights
                {
                    Np = new DenseWeights(Leaf(3, spec.P, a), Leaf(4, spec.P)),
                    Pk = new DenseWeights(Leaf(5, spec.K, spec.P), Leaf(6, spec.K)),
                    Kk = new GeneratedWeights(Leaf(7, spec.K * spec.K, c), Leaf(8, spec.K * spec.K), Leaf(9, spec.K, c), Leaf(10, spec.K)),
                    Kp = new DenseWeights(Leaf(11, spec.P, spec.K), Leaf(12, spec.P)),
                    Pm = new DenseWeights(Leaf(13, b, spec.P), Leaf(14, b)),
                };
                leaves = new() { x, z, w.Np.Weight, w.Kk.G, w.Kk.GBias!, w.Kk.Gb, w.Pm.Weight };
                run = k => Functional.ApgLayer(x, z, w, spec, k);
                break;
            }
        }
        var probe = TestUtil.Randn(99, run(Kernels.Reference).shape);
        List<Tensor> Grads(Kernels k)
        {
            foreach (var l in leaves) l.grad?.zero_();
            var y = run(k);
            (y * probe).sum().backward();
            return leaves.Select(l => l.grad!.clone()).Prepend(y.detach().clone()).ToList();
        }
        var native = Grads(Kernels.Native);
        var reference = Grads(Kernels.Reference);
        for (var i = 0; i < native.Count; i++)
            Assert.That(TestUtil.RelativeError(native[i], reference[i]), Is.LessThan(1e-5), i == 0 ? "output" : $"grad of input {i - 1}");
    }

    private static Tensor Leaf(long seed, params long[] shape) => (TestUtil.Randn(seed, shape) * 0.5).requires_grad_(true);
}
