using DynRec.Interop;
using static TorchSharp.torch;

namespace DynRec.Benchmarks;

/// <summary>
/// Gives LibTorch and libdynrec the same CPU thread count, so that a native vs
/// reference comparison is not a comparison of thread counts.
/// </summary>
public static class BenchmarkThreads
{
    /// <param name="threads">Threads for both; 0 keeps LibTorch's current count and gives libdynrec the same.</param>
    /// <returns>The thread count both now use.</returns>
    public static int Apply(int threads)
    {
        if (threads < 0) throw new ArgumentOutOfRangeException(nameof(threads), $"threads must be >= 0, got {threads}");
        if (threads > 0) set_num_threads(threads);
        var used = get_num_threads();
        Native.Check(Methods.SetNumThreads(used));
        return used;
    }
}
