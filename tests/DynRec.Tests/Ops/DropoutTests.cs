using DynRec.Interop;
using DynRec.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Tests.Ops;

// Functional.Dropout (dynrec_dropout under autograd): the mask follows torch's
// seed, keeps ~1 - p, scales by 1 / (1 - p), is the one dynrec_dropout_reference
// draws for the same seed, and backward applies the same mask to the gradient.
[TestFixture]
public class DropoutTests
{
    [Test]
    public void IdentityWhenNotTrainingOrPIsZero()
    {
        using var scope = NewDisposeScope();
        var x = TestUtil.Randn(1, 33, 7);
        Assert.That(ReferenceEquals(Functional.Dropout(x, 0.5, training: false), x), Is.True);
        Assert.That(ReferenceEquals(Functional.Dropout(x, 0.0, training: true), x), Is.True);
    }

    [Test]
    public void SameSeedSameMaskAndTheMaskIsTheReferenceLoopsForTheDrawnSeed()
    {
        using var scope = NewDisposeScope();
        var x = TestUtil.Randn(2, 129, 67);
        manual_seed(7);
        var a = Functional.Dropout(x, 0.3, training: true);
        manual_seed(7);
        var b = Functional.Dropout(x, 0.3, training: true);
        var c = Functional.Dropout(x, 0.3, training: true);
        Assert.That(TestUtil.Identical(a, b), Is.True, "same seed, same mask");
        Assert.That(TestUtil.Identical(b, c), Is.False, "the next call draws another seed");

        manual_seed(7);
        var seed = unchecked((ulong)randint(long.MaxValue, new long[] { 1 }, dtype: ScalarType.Int64).item<long>());
        var input = x.data<float>().ToArray();
        var expected = new float[input.Length];
        unsafe
        {
            fixed (float* i = input, o = expected)
                Native.Check(Methods.DropoutReference(input.Length, 0.3f, seed, i, o));
        }
        Assert.That(a.data<float>().ToArray(), Is.EqualTo(expected), "dynrec_dropout_reference, same seed");
    }

    [TestCase(0.1)]
    [TestCase(0.5)]
    public void KeepsAboutOneMinusPAndScalesKeptValues(double p)
    {
        using var scope = NewDisposeScope();
        var x = rand(512, 1024) + 0.5f;  // never 0: a zero output means dropped
        var y = Functional.Dropout(x, p, training: true);
        var kept = y.ne(0);
        var n = (double)x.numel();
        var keptShare = kept.sum().item<long>() / n;
        Assert.That(keptShare, Is.EqualTo(1 - p).Within(6 * Math.Sqrt(p * (1 - p) / n)));
        var scale = (float)(1.0 / (1.0 - p));
        Assert.That(TestUtil.Identical(y.masked_select(kept), (x * scale).masked_select(kept)), Is.True);
    }

    [Test]
    public void BackwardAppliesTheForwardMaskToTheGradient()
    {
        using var scope = NewDisposeScope();
        var x = (rand(37, 19) + 0.5f).requires_grad_(true);
        var probe = TestUtil.Randn(3, 37, 19);
        var y = Functional.Dropout(x, 0.4, training: true);
        (y * probe).sum().backward();
        // d(sum(probe * y)) / dx = probe * m, and m = y / x where x != 0.
        var multiplier = y.detach() / x.detach();
        Assert.That(TestUtil.RelativeError(x.grad!, probe * multiplier), Is.LessThan(1e-6));
        Assert.That(x.grad!.eq(0).eq(y.eq(0)).all().item<bool>(), Is.True, "dropped elements get no gradient");
    }

    [Test]
    public void OtherDtypesFallBackToTorchDropout()
    {
        using var scope = NewDisposeScope();
        var x = ones(1000, dtype: ScalarType.Float64);
        var y = Functional.Dropout(x, 0.5, training: true);
        Assert.That(y.dtype, Is.EqualTo(ScalarType.Float64));
        var kept = y.ne(0).sum().item<long>();
        Assert.That(kept, Is.InRange(400L, 600L));
    }
}
