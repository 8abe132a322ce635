using DynRec.Models;
using DynRec.Ops;
using static TorchSharp.torch;

namespace DynRec.Tests.Models;

// For every model and option set: the native-kernel path and the reference
// path give the same logits and the same gradient for every parameter
// (eval mode, same weights).
[TestFixture]
public class PathAgreementTests
{
    [TestCaseSource(typeof(ModelTestData), nameof(ModelTestData.OptionCases))]
    public void NativeAndReferencePathsAgree(string name, Dictionary<string, object?> options)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var schema = ModelTestData.Schema();
        using var model = ModelFactory.Create(name, schema, options);
        model.eval();
        using var batch = ModelTestData.RandomBatch(schema, 37, seed: 5);
        var probe = TestUtil.Randn(9, 37, schema.Tasks.Count);

        (Tensor logits, List<(string name, Tensor? grad)> grads) Run(Kernels kernels)
        {
            model.Kernels = kernels;
            model.zero_grad();
            var logits = model.forward(batch);
            (logits * probe).sum().backward();
            return (logits.detach().clone(),
                model.named_parameters().Select(p => (p.name, p.parameter.grad?.clone())).ToList());
        }

        var (native, nativeGrads) = Run(Kernels.Native);
        var (reference, referenceGrads) = Run(Kernels.Reference);

        Assert.That(native.shape, Is.EqualTo(new long[] { 37, schema.Tasks.Count }));
        Assert.That(native.isfinite().all().item<bool>(), Is.True, "logits are finite");
        Assert.That(TestUtil.RelativeError(native, reference), Is.LessThan(1e-5), "logits");
        // M2M's gradients pass through a chain of hyper_linear steps (meta
        // attention + meta tower) whose float32 sums both paths order
        // differently: measured up to 1.007e-5 (unshared meta units), so 3e-5 there.
        var gradTolerance = name == "m2m" ? 3e-5 : 1e-5;
        for (var i = 0; i < nativeGrads.Count; i++)
        {
            var (pname, g) = nativeGrads[i];
            var r = referenceGrads[i].grad;
            Assert.That(g, Is.Not.Null, $"native path gives {pname} a gradient");
            Assert.That(r, Is.Not.Null, $"reference path gives {pname} a gradient");
            // Some gradients are zero in exact arithmetic (the attention key bias:
            // softmax ignores a shift shared by all scores); both paths leave
            // rounding noise there, so compare those absolutely.
            if (r!.abs().max().item<float>() < 1e-6f)
                Assert.That((g! - r).abs().max().item<float>(), Is.LessThan(1e-6f), $"grad of {pname} (zero in exact math)");
            else
                Assert.That(TestUtil.RelativeError(g!, r), Is.LessThan(gradTolerance), $"grad of {pname}");
        }
    }

    // Training mode with the models' default dropout: from the same global seed
    // both paths must draw the same dropout masks (same random draws in the same
    // order), or `--kernels native` and `--kernels reference` runs would drift
    // apart by a different-seed amount instead of by float rounding.
    [TestCaseSource(typeof(ModelTestData), nameof(ModelTestData.OptionCases))]
    public void NativeAndReferencePathsDrawTheSameDropoutMasks(string name, Dictionary<string, object?> options)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var schema = ModelTestData.Schema();
        using var model = ModelFactory.Create(name, schema, options);
        model.train();
        using var batch = ModelTestData.RandomBatch(schema, 37, seed: 5);

        Tensor Run(Kernels kernels)
        {
            model.Kernels = kernels;
            manual_seed(2024);
            using var _ = no_grad();
            return model.forward(batch).detach().clone();
        }

        var native = Run(Kernels.Native);
        var reference = Run(Kernels.Reference);
        var again = Run(Kernels.Native);
        Assert.That(TestUtil.RelativeError(again, native), Is.EqualTo(0.0), "same seed, same path: identical");
        Assert.That(TestUtil.RelativeError(native, reference), Is.LessThan(1e-5), "training-mode logits");
    }

    [Test]
    public void SettingModelKernelsReachesEveryLayer()
    {
        using var scope = NewDisposeScope();
        var schema = ModelTestData.Schema();
        foreach (var (_, name, options) in ModelTestData.OptionSets())
        {
            using var model = ModelFactory.Create(name, schema, options, Kernels.Native);
            var switches = model.modules().OfType<DynRec.Layers.IKernelSwitch>().ToList();
            Assert.That(switches.All(s => s.Kernels == Kernels.Native), $"{name}: built native");
            model.Kernels = Kernels.Reference;
            Assert.That(switches.All(s => s.Kernels == Kernels.Reference), $"{name}: switched to reference");
            if (name is "pepnet" or "apg" or "m2m") Assert.That(switches, Is.Not.Empty, $"{name} has dynamic-weight layers");
        }
    }
}
