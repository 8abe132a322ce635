namespace DynRec.Data.Synthetic;

/// <summary>
/// xoshiro256** seeded through SplitMix64: the same seed gives the same
/// stream on every platform and .NET version (unlike System.Random's contract).
/// </summary>
internal sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;
    private double _spareNormal = double.NaN;

    public Rng(ulong seed, ulong stream)
    {
        var x = seed ^ (stream * 0x9E3779B97F4A7C15UL);
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong Next()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double Uniform() => (Next() >> 11) * (1.0 / (1UL << 53));

    public int Below(int n) => (int)((Next() >> 33) * (ulong)n >> 31);

    public bool Chance(double p) => Uniform() < p;

    /// <summary>Standard normal (Box-Muller, both values used).</summary>
    public double Normal()
    {
        if (!double.IsNaN(_spareNormal))
        {
            var s = _spareNormal;
            _spareNormal = double.NaN;
            return s;
        }
        double u1;
        do u1 = Uniform(); while (u1 <= double.Epsilon);
        var u2 = Uniform();
        var r = Math.Sqrt(-2 * Math.Log(u1));
        _spareNormal = r * Math.Sin(2 * Math.PI * u2);
        return r * Math.Cos(2 * Math.PI * u2);
    }
}

/// <summary>Walker's alias table: O(1) draws from a fixed discrete distribution.</summary>
internal sealed class AliasTable
{
    private readonly double[] _prob;
    private readonly int[] _alias;

    public AliasTable(IReadOnlyList<double> weights)
    {
        var n = weights.Count;
        _prob = new double[n];
        _alias = new int[n];
        var sum = weights.Sum();
        var scaled = weights.Select(w => w * n / sum).ToArray();
        var small = new Stack<int>();
        var large = new Stack<int>();
        for (var i = n - 1; i >= 0; i--) (scaled[i] < 1 ? small : large).Push(i);
        while (small.Count > 0 && large.Count > 0)
        {
            var s = small.Pop();
            var l = large.Pop();
            _prob[s] = scaled[s];
            _alias[s] = l;
            scaled[l] -= 1 - scaled[s];
            (scaled[l] < 1 ? small : large).Push(l);
        }
        while (large.Count > 0) _prob[large.Pop()] = 1;
        while (small.Count > 0) _prob[small.Pop()] = 1;
    }

    public int Draw(Rng rng)
    {
        var i = rng.Below(_prob.Length);
        return rng.Uniform() < _prob[i] ? i : _alias[i];
    }
}
