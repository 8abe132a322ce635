using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DynRec.Interop;

/// <summary>
/// Finds libdynrec for the generated [DllImport("dynrec")] externs. Order:
/// the DYNREC_NATIVE_LIBRARY environment variable (a file path), next to this
/// assembly, runtimes/linux-x64/native/ below it, then the system search path.
/// On failure the exception lists every path tried.
/// </summary>
public static class NativeLibraryResolver
{
    public const string EnvironmentVariable = "DYNREC_NATIVE_LIBRARY";
    private static IntPtr _handle;
    private static readonly object Gate = new();

    // A library-level module initializer is the point: the resolver must be in
    // place before the first generated extern is bound, whoever calls it.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() =>
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath) =>
        name == Methods.LibraryName ? Load() : IntPtr.Zero;

    /// <summary>Loads (once) and returns the libdynrec handle.</summary>
    public static IntPtr Load()
    {
        lock (Gate)
        {
            if (_handle != IntPtr.Zero) return _handle;
            var tried = new List<string>();
            if (TryLoadFirst(Candidates(), tried, out _handle)) return _handle;
            tried.Add("libdynrec.so (system search path)");
            if (NativeLibrary.TryLoad("libdynrec.so", out _handle)) return _handle;
            throw new DllNotFoundException(
                "libdynrec could not be loaded. Tried:\n  " + string.Join("\n  ", tried) +
                $"\nBuild it with CMake (see README) or set {EnvironmentVariable} to the library's path.");
        }
    }

    /// <summary>
    /// Loads the first candidate file that exists and loads; appends to <paramref name="tried"/>
    /// one line per candidate passed over: "(not found)", or "(found, failed to load: reason)"
    /// with the loader's reason (a missing dependency such as libgomp.so.1, a wrong architecture).
    /// </summary>
    internal static bool TryLoadFirst(IEnumerable<string> candidates, List<string> tried, out IntPtr handle)
    {
        foreach (var candidate in candidates)
        {
            if (!File.Exists(candidate)) { tried.Add(candidate + " (not found)"); continue; }
            try
            {
                handle = NativeLibrary.Load(candidate);
                return true;
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                tried.Add($"{candidate} (found, failed to load: {e.Message})");
            }
        }
        handle = IntPtr.Zero;
        return false;
    }

    private static IEnumerable<string> Candidates()
    {
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(env)) yield return Path.GetFullPath(env);
        var dir = AppContext.BaseDirectory;
        var asmDir = Path.GetDirectoryName(typeof(NativeLibraryResolver).Assembly.Location);
        foreach (var d in new[] { dir, asmDir }.Where(d => !string.IsNullOrEmpty(d)).Distinct())
        {
            yield return Path.Combine(d!, "libdynrec.so");
            yield return Path.Combine(d!, "runtimes", "linux-x64", "native", "libdynrec.so");
        }
    }
}
