using DynRec.Optim;
using static TorchSharp.torch;

namespace DynRec.Tests.Optim;

/// <summary>
/// The scratch cache that FusedAdam and the table-batched embedding keep across steps. On CUDA
/// their first step ran inside the trainer's dispose scope, which disposed the cached tensor:
/// the second step then crashed on its empty handle (seen on an H200, 2026-11-28).
/// </summary>
[TestFixture]
public class NativeWorkspaceTests
{
    [Test]
    public void CachedWorkspaceSurvivesTheDisposeScopeItWasCreatedIn()
    {
        Tensor? cache = null;
        Tensor? first;
        using (NewDisposeScope())
        {
            first = NativeTensorData.Workspace(ref cache, 1000, CPU);
            Assert.That(first, Is.Not.Null);
        }
        Assert.That(cache!.IsInvalid, Is.False, "a step's dispose scope must not free the cache");
        using (NewDisposeScope())
        {
            var second = NativeTensorData.Workspace(ref cache, 800, CPU);
            Assert.That(second, Is.SameAs(first), "big enough: reused");
            Assert.That(second!.NumberOfElements, Is.EqualTo(250));
        }
        cache!.Dispose();
    }

    [Test]
    public void DisposedCacheIsReplacedNotTouched()
    {
        Tensor? cache = null;
        NativeTensorData.Workspace(ref cache, 64, CPU)!.Dispose();
        Assert.That(cache!.IsInvalid, Is.True);
        var ws = NativeTensorData.Workspace(ref cache, 64, CPU);
        Assert.That(ws!.IsInvalid, Is.False);
        Assert.That(ws.NumberOfElements * sizeof(float), Is.GreaterThanOrEqualTo(64));
        ws.Dispose();
    }

    [Test]
    public void GrowsWhenTooSmallAndReturnsNullForNoBytes()
    {
        Tensor? cache = null;
        Assert.That(NativeTensorData.Workspace(ref cache, 0, CPU), Is.Null);
        var small = NativeTensorData.Workspace(ref cache, 16, CPU);
        var big = NativeTensorData.Workspace(ref cache, 4096, CPU);
        Assert.That(big, Is.Not.SameAs(small));
        Assert.That(small!.IsInvalid, Is.True, "the outgrown tensor is freed");
        Assert.That(big!.NumberOfElements, Is.EqualTo(1024));
        big.Dispose();
    }
}
