using System.Reflection;
using DynRec.Interop;

namespace DynRec.Tests.Interop;

// The packages take their version from CMakeLists.txt (interop/DynRec.Package.props),
// so the managed assemblies and the libdynrec they load must report the same one.
[TestFixture]
public class PackageVersionTests
{
    [Test]
    public void AssembliesCarryTheNativeLibraryVersion()
    {
        var native = Version.Parse(Native.Version);
        foreach (var assembly in new[] { typeof(Native).Assembly, typeof(DynRec.Models.ModelFactory).Assembly })
        {
            var v = assembly.GetName().Version!;
            Assert.That(new Version(v.Major, v.Minor, v.Build), Is.EqualTo(native), assembly.GetName().Name);
            var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
            Assert.That(informational, Does.StartWith(Native.Version), assembly.GetName().Name);
        }
    }
}
