using DynRec.Layers;
using DynRec.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Tests.Ops;

[TestFixture]
public class GateNuTests
{
    private static readonly object[] OddShapes =
    {
        new object[] { 1L, 13L, 17L, 5L },
        new object[] { 7L, 37L, 9L, 19L },
        new object[] { 33L, 40L, 64L, 192L },
        new object[] { 1000L, 21L, 11L, 3L },
    };

    [TestCaseSource(nameof(OddShapes))]
    public void NativeAndReferencePathsAgreeOnOutputsAndGradients(long batch, long nIn, long nHidden, long nOut)
    {
        using var scope = NewDisposeScope();
        manual_seed(42);
        var gate = new GateNU(nIn, nHidden, nOut);
        var x = TestUtil.Randn(1, batch, nIn).requires_grad_(true);
        var probe = TestUtil.Randn(2, batch, nOut);

        gate.Kernels = Kernels.Native;
        var yNative = gate.forward(x);
        (yNative * probe).sum().backward();
        var gradsNative = gate.parameters().Select(p => p.grad!.clone()).Append(x.grad!.clone()).ToList();
        gate.zero_grad();
        x.grad!.zero_();

        gate.Kernels = Kernels.Reference;
        var yRef = gate.forward(x);
        (yRef * probe).sum().backward();
        var gradsRef = gate.parameters().Select(p => p.grad!.clone()).Append(x.grad!.clone()).ToList();

        Assert.That(TestUtil.RelativeError(yNative, yRef), Is.LessThan(1e-5), "forward");
        var names = gate.named_parameters().Select(p => p.name).Append("x").ToList();
        for (var i = 0; i < gradsRef.Count; i++)
            Assert.That(TestUtil.RelativeError(gradsNative[i], gradsRef[i]), Is.LessThan(1e-5), $"grad of {names[i]}");
    }

    [Test]
    public void NativeGradientsMatchFiniteDifferences()
    {
        using var scope = NewDisposeScope();
        manual_seed(7);
        var gate = new GateNU(6, 5, 4);
        var x = TestUtil.Randn(3, 5, 6).requires_grad_(true);
        var probe = TestUtil.Randn(4, 5, 4);
        (gate.forward(x) * probe).sum().backward();

        // Finite differences in float64 on the reference math, perturbing each input entry.
        var w1 = gate.Fc1.weight!.detach().to(ScalarType.Float64);
        var b1 = gate.Fc1.bias!.detach().to(ScalarType.Float64);
        var w2 = gate.Fc2.weight!.detach().to(ScalarType.Float64);
        var b2 = gate.Fc2.bias!.detach().to(ScalarType.Float64);
        var xd = x.detach().to(ScalarType.Float64);
        var pd = probe.to(ScalarType.Float64);
        double Loss() => (Reference.GateNu(xd, w1, b1, w2, b2, 2f) * pd).sum().item<double>();
        var tensors = new (string name, Tensor value, Tensor grad)[]
        {
            ("x", xd, x.grad!), ("fc1.weight", w1, gate.Fc1.weight!.grad!), ("fc1.bias", b1, gate.Fc1.bias!.grad!),
            ("fc2.weight", w2, gate.Fc2.weight!.grad!), ("fc2.bias", b2, gate.Fc2.bias!.grad!),
        };
        const double eps = 1e-6;
        foreach (var (name, value, grad) in tensors)
        {
            var flat = value.view(-1);
            var g = grad.reshape(-1);
            for (long k = 0; k < flat.shape[0]; k++)
            {
                var orig = flat[k].item<double>();
                flat[k] = orig + eps;
                var up = Loss();
                flat[k] = orig - eps;
                var down = Loss();
                flat[k] = orig;
                var fd = (up - down) / (2 * eps);
                Assert.That(g[k].item<float>(), Is.EqualTo(fd).Within(1e-4 + 1e-3 * Math.Abs(fd)), $"{name}[{k}]");
            }
        }
    }

    [Test]
    public void StopGradientInputGetsNoGradient()
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var gate = new GateNU(8, 6, 4);
        var persona = TestUtil.Randn(5, 9, 3).requires_grad_(true);
        var ep = TestUtil.Randn(6, 9, 5).requires_grad_(true);
        var delta = gate.forward(cat(new[] { persona, ep.detach() }, 1));
        delta.sum().backward();
        Assert.That(persona.grad, Is.Not.Null);
        Assert.That(ep.grad, Is.Null, "sg(O_ep) must not receive a gradient");
    }

    // gate(concat(head, sg(tail))) as PPNet calls it: the native path forms only head's
    // gradient columns; both paths agree with the gate over the concatenated input, and
    // neither lets a gradient into tail.
    [TestCase(Kernels.Native, 1L, 7L, 30L)]
    [TestCase(Kernels.Native, 33L, 24L, 69L)]
    [TestCase(Kernels.Reference, 33L, 24L, 69L)]
    public void ConcatFormGivesHeadTheLeadingColumnsOfTheInputGradient(Kernels kernels, long batch, long nHead, long nTail)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var gate = new GateNU(nHead + nTail, 19, 45, kernels: kernels);
        var head = TestUtil.Randn(1, batch, nHead).requires_grad_(true);
        var tail = TestUtil.Randn(2, batch, nTail).requires_grad_(true);
        var probe = TestUtil.Randn(3, batch, 45);

        (gate.forward(head, tail) * probe).sum().backward();
        var concatForm = gate.parameters().Select(p => p.grad!.clone()).Append(head.grad!.clone()).ToList();
        Assert.That(tail.grad, Is.Null, "sg(tail) must not receive a gradient");
        gate.zero_grad();

        gate.Kernels = Kernels.Reference;
        var whole = cat(new[] { head, tail }, 1).detach().requires_grad_(true);
        var delta = gate.forward(whole);
        (delta * probe).sum().backward();
        var expected = gate.parameters().Select(p => p.grad!.clone())
            .Append(whole.grad!.narrow(1, 0, nHead).clone()).ToList();

        gate.Kernels = kernels;
        Assert.That(TestUtil.RelativeError(gate.forward(head, tail), delta), Is.LessThan(1e-5), "forward");
        var names = gate.named_parameters().Select(p => p.name).Append("head").ToList();
        for (var i = 0; i < expected.Count; i++)
            Assert.That(TestUtil.RelativeError(concatForm[i], expected[i]), Is.LessThan(1e-5), $"grad of {names[i]}");
    }

    [Test]
    public void ForwardOutputIsGammaScaledSigmoidRange()
    {
        using var scope = NewDisposeScope();
        var gate = new GateNU(4, 3, 2, gamma: 2f);
        var delta = gate.forward(TestUtil.Randn(8, 100, 4) * 10);
        Assert.That(delta.min().item<float>(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(delta.max().item<float>(), Is.LessThanOrEqualTo(2f));
    }
}
