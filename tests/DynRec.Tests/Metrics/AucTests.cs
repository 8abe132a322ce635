using DynRec.Metrics;

namespace DynRec.Tests.Metrics;

public class AucTests
{
    [Test]
    public void MatchesHandComputedValue()
    {
        // 4 pos/neg pairs: (0.35 > 0.1), (0.35 < 0.4), (0.8 > 0.1), (0.8 > 0.4) -> 3/4.
        Assert.That(Auc.Compute([0.1f, 0.4f, 0.35f, 0.8f], [0, 0, 1, 1]), Is.EqualTo(0.75).Within(1e-15));
    }

    [Test]
    public void CountsTiesAsOneHalf()
    {
        // pos {0.5, 0.9} vs neg {0.2, 0.5}: 1 + 0.5 + 1 + 1 = 3.5 of 4.
        Assert.That(Auc.Compute([0.2f, 0.5f, 0.5f, 0.9f], [0, 1, 0, 1]), Is.EqualTo(0.875).Within(1e-15));
        Assert.That(Auc.Compute([0.5f, 0.5f, 0.5f, 0.5f], [0, 1, 0, 1]), Is.EqualTo(0.5).Within(1e-15));
    }

    [Test]
    public void PerfectAndReversedRankings()
    {
        Assert.That(Auc.Compute([0.1f, 0.2f, 0.8f, 0.9f], [0, 0, 1, 1]), Is.EqualTo(1.0));
        Assert.That(Auc.Compute([0.9f, 0.8f, 0.2f, 0.1f], [0, 0, 1, 1]), Is.EqualTo(0.0));
    }

    [Test]
    public void OrdersNegativeScoresAndTiesSignedZeros()
    {
        // pos {-1, 0.5} vs neg {-2, -3e-30}: -1 beats -2 only, 0.5 beats both -> 3/4.
        Assert.That(Auc.Compute([-2f, -1f, 0.5f, -3e-30f], [0, 1, 1, 0]), Is.EqualTo(0.75));
        Assert.That(Auc.Compute([-1f, float.NegativeInfinity, float.PositiveInfinity], [0, 0, 1]), Is.EqualTo(1.0));
        Assert.That(Auc.Compute([-0f, 0f], [1, 0]), Is.EqualTo(0.5));
    }

    [Test]
    public void IsNaNWhenOnlyOneClass()
    {
        Assert.That(Auc.Compute([0.1f, 0.7f], [1, 1]), Is.NaN);
        Assert.That(Auc.Compute([0.1f, 0.7f], [0, 0]), Is.NaN);
        Assert.That(Auc.Compute([], []), Is.NaN);
    }

    [Test]
    public void RejectsMismatchedLengthsAndNaNScores()
    {
        Assert.Throws<ArgumentException>(() => Auc.Compute([0.1f], [0, 1]));
        Assert.Throws<ArgumentException>(() => Auc.Compute([float.NaN, 0.2f], [0, 1]));
    }

    [TestCase(1, 7)]
    [TestCase(2, 500)]
    [TestCase(3, 2001)]
    public void EqualsBruteForcePairCountingWithTies(int seed, int n)
    {
        var rng = new Random(seed);
        // Scores on a coarse grid so that many ties occur, inside and across classes.
        var scores = Enumerable.Range(0, n).Select(_ => (float)Math.Round(rng.NextDouble(), 1)).ToArray();
        var labels = scores.Select(s => rng.NextDouble() < 0.2 + 0.6 * s ? 1f : 0f).ToArray();
        labels[0] = 1;
        labels[^1] = 0;
        Assert.That(Auc.Compute(scores, labels), Is.EqualTo(BruteForce.Auc(scores, labels)).Within(1e-12));
    }
}

/// <summary>O(n^2) definitions the fast metrics are checked against.</summary>
internal static class BruteForce
{
    public static double Auc(float[] scores, float[] labels)
    {
        double wins = 0;
        long pairs = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            if (labels[i] < 0.5f) continue;
            for (var j = 0; j < scores.Length; j++)
            {
                if (labels[j] > 0.5f) continue;
                pairs++;
                wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
            }
        }
        return pairs == 0 ? double.NaN : wins / pairs;
    }
}
