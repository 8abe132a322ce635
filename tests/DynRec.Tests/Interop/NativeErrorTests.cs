using DynRec.Interop;
using NativeDevice = DynRec.Interop.Device;

namespace DynRec.Tests.Interop;

// Bad calls through the generated bindings throw typed exceptions that carry
// the native message naming the argument, and the process carries on.
[TestFixture]
public unsafe class NativeErrorTests
{
    private static Status Forward(int device, long batch, float* x)
    {
        var w1 = new float[6];
        var w2 = new float[4];
        var hidden = new float[8];
        var delta = new float[8];
        fixed (float* pw1 = w1, pw2 = w2, ph = hidden, pd = delta)
            return Methods.GateNuForward(device, null, batch, 3, 2, 2, x, pw1, null, pw2, null, 2f, ph, pd);
    }

    [Test]
    public void NullPointerThrowsArgumentExceptionNamingIt()
    {
        var e = Assert.Throws<DynRecArgumentException>(() => Native.Check(Forward((int)NativeDevice.Cpu, 4, null)));
        Assert.That(e!.Message, Does.Contain("x: must not be NULL"));
        Assert.That(e.Status, Is.EqualTo(Status.ErrInvalidArgument));
    }

    [Test]
    public void NegativeSizeThrowsNamingIt()
    {
        var x = new float[12];
        fixed (float* px = x)
        {
            var status = Forward((int)NativeDevice.Cpu, -4, px);
            var e = Assert.Throws<DynRecArgumentException>(() => Native.Check(status));
            Assert.That(e!.Message, Does.Contain("batch"));
        }
    }

    [Test]
    public void CudaDeviceOnCpuOnlyBuildIsRejected()
    {
        if (Native.CudaDeviceCount > 0) Assert.Ignore("a CUDA device is present: this checks the CPU-only case");
        var x = new float[12];
        fixed (float* px = x)
        {
            var status = Forward((int)NativeDevice.Cuda, 4, px);
            var e = Assert.Throws<DynRecArgumentException>(() => Native.Check(status));
            Assert.That(e!.Message, Does.Contain("device"));
        }
    }

    [Test]
    public void ProcessSurvivesAndNextCallSucceeds()
    {
        var x = new float[12];
        fixed (float* px = x)
        {
            Assert.That(Forward((int)NativeDevice.Cpu, 4, null), Is.EqualTo(Status.ErrInvalidArgument));
            Assert.That(Forward((int)NativeDevice.Cpu, 4, px), Is.EqualTo(Status.Ok));
            Assert.That(Native.LastError(), Is.Empty);
        }
    }

    [Test]
    public void CudaMathModesRoundTrip()
    {
        // Process-wide switches: restored so that other tests see the defaults.
        var (tf32, fused, idCheck) = (Native.CudaTf32, Native.CudaFusedEpilogues, Native.CudaTbeIdCheck);
        if (Environment.GetEnvironmentVariable("DYNREC_CUDA_TBE_ID_CHECK") == null)
            Assert.That(idCheck, Is.True, "ids are checked by default");
        try
        {
            Native.CudaTf32 = !tf32;
            Native.CudaFusedEpilogues = !fused;
            Native.CudaTbeIdCheck = !idCheck;
            Assert.That(Native.CudaTf32, Is.EqualTo(!tf32));
            Assert.That(Native.CudaFusedEpilogues, Is.EqualTo(!fused));
            Assert.That(Native.CudaTbeIdCheck, Is.EqualTo(!idCheck));
        }
        finally
        {
            Native.CudaTf32 = tf32;
            Native.CudaFusedEpilogues = fused;
            Native.CudaTbeIdCheck = idCheck;
        }
        Assert.That((Native.CudaTf32, Native.CudaFusedEpilogues, Native.CudaTbeIdCheck), Is.EqualTo((tf32, fused, idCheck)));
    }

    [Test]
    public void CudaHyperPathRoundTripsAndRejectsUnknownValuesWithTheNativeMessage()
    {
        var before = Native.CudaHyperPath;
        try
        {
            foreach (var path in new[] { HyperPath.Outer, HyperPath.Materialized, HyperPath.Auto })
            {
                Native.CudaHyperPath = path;
                Assert.That(Native.CudaHyperPath, Is.EqualTo(path));
            }
            var e = Assert.Throws<DynRecArgumentException>(() => Native.CudaHyperPath = (HyperPath)7)!;
            Assert.That(e.Message, Does.Contain("path"));
            Assert.That(Native.CudaHyperPath, Is.EqualTo(HyperPath.Auto), "a rejected value changes nothing");
        }
        finally
        {
            Native.CudaHyperPath = before;
        }
    }

    [Test]
    public void CudaGraphsRoundTripAndCountersNeverDecrease()
    {
        var before = Native.CudaGraphs;
        if (Environment.GetEnvironmentVariable("DYNREC_CUDA_GRAPHS") == null)
            Assert.That(before, Is.False, "graphs are off by default");
        var counters = Native.CudaGraphCounters;
        try
        {
            Native.CudaGraphs = !before;
            Assert.That(Native.CudaGraphs, Is.EqualTo(!before));
        }
        finally
        {
            Native.CudaGraphs = before;
        }
        Assert.That(Native.CudaGraphs, Is.EqualTo(before));
        var after = Native.CudaGraphCounters;
        Assert.That(after.Captured, Is.GreaterThanOrEqualTo(counters.Captured));
        Assert.That(after.Replayed, Is.GreaterThanOrEqualTo(counters.Replayed));
        Assert.That(after.Failed, Is.GreaterThanOrEqualTo(0));
    }

    [Test]
    public void BuildInfoAndVersionAreReported()
    {
        Assert.That(Native.Version, Does.Match(@"^\d+\.\d+\.\d+$"));
        Assert.That(Native.BuildInfo, Does.Contain("cuda:"));
    }
}
