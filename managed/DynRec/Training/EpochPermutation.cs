namespace DynRec.Training;

/// <summary>
/// The row order of one training epoch: a Fisher-Yates shuffle driven by
/// SplitMix64 seeded from (seed, epoch), so epoch e's order depends on nothing
/// but the seed and e. A resumed run therefore shuffles exactly as an
/// uninterrupted one, and the order is the same on every .NET version.
/// </summary>
public static class EpochPermutation
{
    public static int[] Create(long seed, int epoch, long rows, bool shuffle)
    {
        if (rows > int.MaxValue) throw new NotSupportedException($"a split of {rows} rows exceeds the {int.MaxValue} rows one epoch can address");
        var order = new int[rows];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        if (!shuffle) return order;
        var state = (ulong)SeedFor(seed, epoch, stream: 0);
        for (var i = order.Length - 1; i > 0; i--)
        {
            var j = (int)(Next(ref state) % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>
    /// A seed for one random stream (0 = shuffling, 1 = dropout) of one epoch, derived from the run's seed;
    /// <paramref name="position"/> &gt; 0 (rows of the epoch already trained) gives the stream restarted there.
    /// </summary>
    public static long SeedFor(long seed, int epoch, int stream, long position = 0)
    {
        var state = (ulong)seed * 0x9E3779B97F4A7C15UL ^ ((ulong)epoch + 1) * 0xD1B54A32D192ED03UL ^ ((ulong)stream + 1) * 0x8CB92BA72F3D8DD7UL
                    ^ (ulong)position * 0xA24BAED4963EE407UL;
        // Non-negative: torch.manual_seed takes any 64-bit value, but positive seeds read better in logs.
        return (long)(Next(ref state) >> 1);
    }

    private static ulong Next(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
