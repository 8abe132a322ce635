using System.Diagnostics;
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
        var cli = Path.Combine(TestContext.CurrentContext.TestDirectory, "DynRec.Cli.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(cli);
        info.ArgumentList.Add("info");
        info.Environment["DOTNET_PROCESSOR_COUNT"] = "1";
        info.Environment.Remove("OMP_NUM_THREADS");
        info.Environment.Remove("MKL_NUM_THREADS");
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        Assert.That(process.WaitForExit(TimeSpan.FromMinutes(2)), Is.True, "the CLI did not finish");
        Assert.That(process.ExitCode, Is.Zero, $"stdout:\n{stdout}\nstderr:\n{stderr.Result}");
        var line = stdout.Split('\n').SingleOrDefault(l => l.StartsWith("threads "));
        Assert.That(line, Does.Match(@"^threads\s+1 for LibTorch and libdynrec"), stdout);
        Assert.That(line, Does.Contain("CPUs this process may use 1"), stdout);
    }
}
