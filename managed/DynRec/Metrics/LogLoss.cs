namespace DynRec.Metrics;

/// <summary>Mean binary cross-entropy of probabilities, clipped to [eps, 1-eps] so a confident miss stays finite.</summary>
public static class LogLoss
{
    /// <summary>The clip applied to probabilities (float32 predictions cannot resolve finer than this near 1).</summary>
    public const double Epsilon = 1e-7;

    public static double Compute(ReadOnlySpan<float> probabilities, ReadOnlySpan<float> labels)
    {
        if (probabilities.Length != labels.Length)
            throw new ArgumentException($"probabilities ({probabilities.Length}) and labels ({labels.Length}) differ in length");
        if (probabilities.Length == 0) return double.NaN;
        double sum = 0;
        for (var i = 0; i < probabilities.Length; i++)
        {
            var p = Math.Clamp((double)probabilities[i], Epsilon, 1 - Epsilon);
            sum -= labels[i] > 0.5f ? Math.Log(p) : Math.Log(1 - p);
        }
        return sum / probabilities.Length;
    }
}
