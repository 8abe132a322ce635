using DynRec.Tests.Cli;
using DynRec.Training;
using static TorchSharp.torch;

namespace DynRec.Tests.Training;

/// <summary>The thread-count rule: LibTorch's own count capped at the CPUs .NET says the process may use.</summary>
[TestFixture]
public class CpuThreadsTests
{
    [TestCase(0, 16, 4, false, 4, TestName = "A CPU quota below LibTorch's count caps it")]
    [TestCase(0, 2, 8, false, 2, TestName = "LibTorch's count below the CPUs is kept")]
    [TestCase(0, 16, 4, true, 16, TestName = "OMP_NUM_THREADS in the environment wins over the cap")]
    [TestCase(3, 16, 4, false, 3, TestName = "An explicit count is used as given")]
    [TestCase(12, 2, 4, false, 12, TestName = "An explicit count may exceed the CPUs")]
    [TestCase(0, 0, 0, false, 1, TestName = "Never below one thread")]
    public void Resolve(int requested, int libTorch, int cpus, bool byEnvironment, int expected) =>
        Assert.That(CpuThreads.Resolve(requested, libTorch, cpus, byEnvironment), Is.EqualTo(expected));

    [Test]
    public void NegativeCountsAreRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuThreads.Resolve(-1, 2, 2, false));

    [Test]
    public void ZeroKeepsACountTheApplicationSet()
    {
        var before = get_num_threads();
        try
        {
            set_num_threads(1);
            Assert.That(CpuThreads.Apply(0), Is.EqualTo(1));
            Assert.That(get_num_threads(), Is.EqualTo(1));
        }
        finally
        {
            set_num_threads(before);
        }
    }

    [Test]
    public void TheCliFollowsACpuQuotaThatDotNetSees()
    {
        // DOTNET_PROCESSOR_COUNT stands in for a container's CPU quota: .NET's processor count honours both,
        // LibTorch (one thread per core of the machine) neither.
        var (code, stdout, stderr) = CliProcess.Run(
            new Dictionary<string, string?> { ["DOTNET_PROCESSOR_COUNT"] = "1", ["OMP_NUM_THREADS"] = null, ["MKL_NUM_THREADS"] = null }, "info");
        Assert.That(code, Is.Zero, $"stdout:\n{stdout}\nstderr:\n{stderr}");
        var line = stdout.Split('\n').SingleOrDefault(l => l.StartsWith("threads "));
        Assert.That(line, Does.Match(@"^threads\s+1 for LibTorch and libdynrec"), stdout);
        Assert.That(line, Does.Contain("CPUs this process may use 1"), stdout);
    }
}
