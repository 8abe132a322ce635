using System.Runtime.InteropServices;

namespace DynRec.Training;

/// <summary>
/// glibc malloc settings for a training process. By default glibc returns a
/// freed block at the top of its heap to the kernel once more than ~2x its
/// (adaptive) mmap threshold is free, and maps blocks above that threshold
/// fresh on every allocation. A training step allocates and frees the same
/// large tensors (weight gradients, activations) every step, so each step
/// page-faults them back in: measured on the CPU at batch 8, PEPNet's native
/// step took ~270 extra page faults (3.8 vs 2.9 ms/step), at batch 128 about
/// 8% of the step. Fixing both thresholds keeps those blocks in the heap
/// (the process keeps up to <see cref="TrimThresholdBytes"/> of free heap).
///
/// <para>The CLI applies this at start-up; a .NET application hosting DynRec
/// training can call <see cref="ConfigureForTraining"/> itself. It does nothing
/// off Linux/glibc, and nothing when the user set glibc's own MALLOC_*_
/// variables or DYNREC_HOST_ALLOCATOR=default.</para>
/// </summary>
public static class HostAllocator
{
    /// <summary>Allocations at least this large are mapped individually (glibc's default starts at 128 KiB).</summary>
    public const int MmapThresholdBytes = 64 << 20;

    /// <summary>Free heap kept before glibc trims it (glibc's default: 128 KiB, then twice the adaptive mmap threshold).</summary>
    public const int TrimThresholdBytes = 256 << 20;

    private const int M_TRIM_THRESHOLD = -1;
    private const int M_MMAP_THRESHOLD = -3;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int param, int value);

    /// <summary>What <see cref="ConfigureForTraining"/> did, for `dynrec info` and logs.</summary>
    public static string Status { get; private set; } = "glibc defaults";

    /// <summary>Applies the thresholds above once per process; returns whether they are in effect.</summary>
    public static bool ConfigureForTraining()
    {
        if (Status.StartsWith("tuned", StringComparison.Ordinal)) return true;
        var environment = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value);
        if (ReasonToKeepDefaults(OperatingSystem.IsLinux(), environment) is { } why) return Skip(why);
        try
        {
            // mallopt returns 1 on success (musl's stub returns 0).
            if (Mallopt(M_MMAP_THRESHOLD, MmapThresholdBytes) != 1 || Mallopt(M_TRIM_THRESHOLD, TrimThresholdBytes) != 1)
                return Skip("mallopt refused");
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return Skip("no glibc mallopt");
        }
        Status = $"tuned (mmap threshold {MmapThresholdBytes >> 20} MiB, trim threshold {TrimThresholdBytes >> 20} MiB)";
        return true;
    }

    /// <summary>Why the glibc defaults stay (not Linux, or the user chose malloc settings), or null to tune.</summary>
    internal static string? ReasonToKeepDefaults(bool isLinux, IReadOnlyDictionary<string, string?> environment)
    {
        if (!isLinux) return "not Linux";
        if (environment.TryGetValue("DYNREC_HOST_ALLOCATOR", out var choice) && choice == "default") return "DYNREC_HOST_ALLOCATOR=default";
        if (environment.Keys.Any(k => k.StartsWith("MALLOC_", StringComparison.Ordinal))) return "MALLOC_* set in the environment";
        return null;
    }

    private static bool Skip(string why)
    {
        Status = $"glibc defaults ({why})";
        return false;
    }
}
