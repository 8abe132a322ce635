using DynRec.Interop;
using static TorchSharp.torch;

namespace DynRec.Training;

/// <summary>
/// CPU threads of LibTorch and libdynrec, set together. LibTorch starts with one thread per core of the
/// machine, also in a container whose CPU quota (cgroup cpu.max: Docker --cpus, a Kubernetes CPU limit) allows
/// far fewer; its threads then spin-wait and get throttled in turn, a many-fold slowdown. .NET's
/// <see cref="Environment.ProcessorCount"/> honours the quota (and DOTNET_PROCESSOR_COUNT), so the default
/// here is LibTorch's count capped at it. An explicit OMP_NUM_THREADS or MKL_NUM_THREADS is left as it is.
/// </summary>
public static class CpuThreads
{
    // LibTorch's own count, read before anything here changes it.
    private static readonly Lazy<int> LibTorchInitial = new(get_num_threads);

    /// <summary>True when the environment names a thread count (LibTorch and OpenMP obey it; so do we).</summary>
    public static bool SetByEnvironment =>
        !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OMP_NUM_THREADS"))
        || !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("MKL_NUM_THREADS"));

    /// <summary>The thread count a request resolves to (pure; the rule <see cref="Apply"/> uses).</summary>
    /// <param name="requested">&gt; 0: exactly this many; 0: the default.</param>
    /// <param name="libTorchDefault">LibTorch's count before any change.</param>
    /// <param name="processorCount">CPUs this process may use (.NET's count: affinity and CPU quota).</param>
    /// <param name="setByEnvironment">OMP_NUM_THREADS / MKL_NUM_THREADS is set: keep LibTorch's count.</param>
    public static int Resolve(int requested, int libTorchDefault, int processorCount, bool setByEnvironment)
    {
        if (requested < 0) throw new ArgumentOutOfRangeException(nameof(requested), $"threads must be >= 0, got {requested}");
        if (requested > 0) return requested;
        var fromTorch = Math.Max(1, libTorchDefault);
        return setByEnvironment ? fromTorch : Math.Min(fromTorch, Math.Max(1, processorCount));
    }

    /// <summary>Gives LibTorch and libdynrec the same thread count.</summary>
    /// <param name="threads">
    /// &gt; 0: that many. 0: a count the application already gave LibTorch (torch.set_num_threads) is kept;
    /// otherwise LibTorch's count capped at the CPUs .NET may use.
    /// </param>
    /// <returns>The count both now use.</returns>
    public static int Apply(int threads)
    {
        var initial = LibTorchInitial.Value;
        var current = get_num_threads();
        var n = threads == 0 && current != initial
            ? current
            : Resolve(threads, initial, Environment.ProcessorCount, SetByEnvironment);
        if (get_num_threads() != n) set_num_threads(n);
        Native.Check(Methods.SetNumThreads(n));
        return n;
    }

    /// <summary>Where the default count comes from, for `dynrec info`.</summary>
    public static string Explain() =>
        $"LibTorch's own count {LibTorchInitial.Value}, CPUs this process may use {Environment.ProcessorCount}" +
        (SetByEnvironment ? "; OMP_NUM_THREADS/MKL_NUM_THREADS set, so LibTorch's count is kept" : "; the smaller wins") +
        "; --threads N sets it per command";
}
