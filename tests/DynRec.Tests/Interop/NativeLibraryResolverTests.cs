using DynRec.Interop;

namespace DynRec.Tests.Interop;

// When libdynrec cannot be loaded the error must say, per path, whether the file
// was missing or was found and refused by the loader, with the loader's reason.
[TestFixture]
public class NativeLibraryResolverTests
{
    [Test]
    public void ReportsMissingAndRefusedFilesThenLoadsTheFirstGoodOne()
    {
        var dir = Directory.CreateTempSubdirectory("dynrec-resolver-").FullName;
        try
        {
            var missing = Path.Combine(dir, "missing", "libdynrec.so");
            var notElf = Path.Combine(dir, "libdynrec.so");
            File.WriteAllText(notElf, "not a shared object");
            var goodPath = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libdynrec.so");
            Assert.That(File.Exists(goodPath), "the build copies libdynrec.so under runtimes/linux-x64/native/");

            var tried = new List<string>();
            Assert.That(NativeLibraryResolver.TryLoadFirst([missing, notElf, goodPath], tried, out var handle), Is.True);
            Assert.That(handle, Is.Not.EqualTo(IntPtr.Zero));
            Assert.That(tried, Has.Count.EqualTo(2));
            Assert.That(tried[0], Is.EqualTo(missing + " (not found)"));
            Assert.That(tried[1], Does.StartWith(notElf + " (found, failed to load: "));
            Assert.That(tried[1].Length, Is.GreaterThan((notElf + " (found, failed to load: )").Length), "the loader's reason");

            tried.Clear();
            Assert.That(NativeLibraryResolver.TryLoadFirst([missing, notElf], tried, out handle), Is.False);
            Assert.That(handle, Is.EqualTo(IntPtr.Zero));
            Assert.That(tried, Has.Count.EqualTo(2));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
