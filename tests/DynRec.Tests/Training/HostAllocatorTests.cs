using DynRec.Training;

namespace DynRec.Tests.Training;

[TestFixture]
public class HostAllocatorTests
{
    private static readonly Dictionary<string, string?> NoVariables = new();

    [Test]
    public void TunesOnLinuxUnlessTheUserChoseMallocSettings()
    {
        Assert.That(HostAllocator.ReasonToKeepDefaults(isLinux: true, NoVariables), Is.Null);
        Assert.That(HostAllocator.ReasonToKeepDefaults(isLinux: false, NoVariables), Is.EqualTo("not Linux"));
        Assert.That(HostAllocator.ReasonToKeepDefaults(true, new Dictionary<string, string?> { ["DYNREC_HOST_ALLOCATOR"] = "default" }),
            Is.EqualTo("DYNREC_HOST_ALLOCATOR=default"));
        Assert.That(HostAllocator.ReasonToKeepDefaults(true, new Dictionary<string, string?> { ["MALLOC_ARENA_MAX"] = "2" }),
            Is.EqualTo("MALLOC_* set in the environment"));
        Assert.That(HostAllocator.ReasonToKeepDefaults(true, new Dictionary<string, string?> { ["DYNREC_HOST_ALLOCATOR"] = "tuned" }), Is.Null);
    }

    [Test]
    public void ConfigureForTrainingIsIdempotentAndReportsWhatItDid()
    {
        var first = HostAllocator.ConfigureForTraining();
        var second = HostAllocator.ConfigureForTraining();
        Assert.That(second, Is.EqualTo(first));
        if (first) Assert.That(HostAllocator.Status, Does.StartWith("tuned (mmap threshold 64 MiB"));
        else Assert.That(HostAllocator.Status, Does.StartWith("glibc defaults ("));
        // This test machine is Linux with glibc: mallopt must have been accepted unless the environment opted out.
        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value);
        if (OperatingSystem.IsLinux() && HostAllocator.ReasonToKeepDefaults(true, environment) is null)
            Assert.That(first, Is.True, HostAllocator.Status);
    }
}
