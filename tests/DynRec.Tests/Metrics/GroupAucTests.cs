using DynRec.Metrics;

namespace DynRec.Tests.Metrics;

public class GroupAucTests
{
    [Test]
    public void KnownExampleGivesBothDefinitions()
    {
        // user 1: AUC 1.0 (3 rows); user 2: pos {0.3, 0.8} vs neg {0.6, 0.2} -> 3/4 (4 rows); user 3: no positive, excluded.
        float[] scores = [0.9f, 0.3f, 0.1f, 0.6f, 0.5f, 0.2f, 0.8f, 0.4f, 0.7f];
        float[] labels = [1, 1, 0, 0, 0, 0, 1, 0, 0];
        long[] users = [1, 2, 1, 2, 1, 2, 2, 3, 3];
        var g = GroupAuc.Compute(scores, labels, users);
        Assert.That(g.ValidUsers, Is.EqualTo(2));
        Assert.That(g.Gauc, Is.EqualTo((1.0 + 0.75) / 2).Within(1e-15));
        Assert.That(g.WeightedGauc, Is.EqualTo((3 * 1.0 + 4 * 0.75) / 7).Within(1e-15));
    }

    [Test]
    public void IsNaNWithNoValidUser()
    {
        var g = GroupAuc.Compute([0.1f, 0.2f, 0.3f], [1, 0, 1], [1, 2, 3]);
        Assert.That(g.ValidUsers, Is.Zero);
        Assert.That(g.Gauc, Is.NaN);
        Assert.That(g.WeightedGauc, Is.NaN);
    }

    [TestCase(5, 3000, 40)]
    [TestCase(6, 777, 200)]
    public void EqualsPerUserBruteForce(int seed, int n, int userCount)
    {
        var rng = new Random(seed);
        var scores = Enumerable.Range(0, n).Select(_ => (float)Math.Round(rng.NextDouble(), 2)).ToArray();
        var users = Enumerable.Range(0, n).Select(_ => (long)rng.Next(userCount) * 7919).ToArray();
        var labels = scores.Select(s => rng.NextDouble() < s ? 1f : 0f).ToArray();

        double sum = 0, weighted = 0, weights = 0;
        var valid = 0;
        foreach (var user in users.Distinct())
        {
            var rows = Enumerable.Range(0, n).Where(i => users[i] == user).ToArray();
            var auc = BruteForce.Auc(rows.Select(i => scores[i]).ToArray(), rows.Select(i => labels[i]).ToArray());
            if (double.IsNaN(auc)) continue;
            sum += auc;
            weighted += auc * rows.Length;
            weights += rows.Length;
            valid++;
        }
        var g = GroupAuc.Compute(scores, labels, users);
        Assert.That(g.ValidUsers, Is.EqualTo(valid));
        Assert.That(g.Gauc, Is.EqualTo(sum / valid).Within(1e-12));
        Assert.That(g.WeightedGauc, Is.EqualTo(weighted / weights).Within(1e-12));
    }
}
