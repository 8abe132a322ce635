using static TorchSharp.torch;

namespace DynRec.Tests;

/// <summary>Comparisons shared by the managed tests.</summary>
internal static class TestUtil
{
    /// <summary>max |a - b| / max(|b|, tiny): the relative error used for path agreement.</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        var a = actual.detach().to(ScalarType.Float64);
        var b = expected.detach().to(ScalarType.Float64);
        var denom = Math.Max(b.abs().max().item<double>(), 1e-12);
        return (a - b).abs().max().item<double>() / denom;
    }

    /// <summary>Same shape and bit-identical values (TorchSharp's Tensor.equal is elementwise).</summary>
    public static bool Identical(Tensor a, Tensor b)
    {
        using var scope = NewDisposeScope();
        return a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
    }

    public static Tensor Randn(long seed, params long[] shape)
    {
        var g = new TorchSharp.torch.Generator((ulong)seed);
        return randn(shape, generator: g);
    }
}
