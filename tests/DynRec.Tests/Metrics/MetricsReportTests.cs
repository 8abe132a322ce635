using DynRec.Metrics;

namespace DynRec.Tests.Metrics;

public class MetricsReportTests
{
    private static PredictionSet RandomSet(int seed, int n, bool oracle)
    {
        var rng = new Random(seed);
        string[] tasks = ["is_click", "long_view"];
        var truth = tasks.Select(_ => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray()).ToArray();
        var labels = truth.Select(p => p.Select(v => rng.NextDouble() < v ? 1f : 0f).ToArray()).ToArray();
        var predicted = truth.Select(p => p.Select(v => Math.Clamp(v + (float)(rng.NextDouble() - 0.5) * 0.6f, 0.001f, 0.999f)).ToArray()).ToArray();
        var scenario = Enumerable.Range(0, n).Select(_ => (long)rng.Next(3)).ToArray();
        var users = Enumerable.Range(0, n).Select(_ => (long)rng.Next(25)).ToArray();
        return new PredictionSet(tasks, predicted, labels, scenario, users, oracle ? truth : null);
    }

    [Test]
    public void UsesFunRecColumnNamesAndSliceValues()
    {
        var set = RandomSet(11, 1500, oracle: false);
        var report = MetricsReport.Compute(set, "tab", 3);
        string[] expectedKeys = ["auc_is_click", "gauc_is_click", "valid_users_is_click", "wgauc_is_click", "logloss_is_click",
            "auc_long_view", "auc_macro", "gauc_macro", "wgauc_macro", "logloss_macro", "auc_is_click_tab0", "gauc_long_view_tab2", "valid_users_is_click_tab1"];
        Assert.That(report.Keys, Is.SupersetOf(expectedKeys));
        Assert.That(report.Keys, Has.None.StartsWith("auc_oracle"));

        Assert.That(report["auc_is_click"], Is.EqualTo(Auc.Compute(set.Probabilities[0], set.Labels[0])));
        var tab1 = Enumerable.Range(0, set.Rows).Where(r => set.Scenario[r] == 1).ToArray();
        Assert.That(report["auc_long_view_tab1"],
            Is.EqualTo(Auc.Compute(tab1.Select(r => set.Probabilities[1][r]).ToArray(), tab1.Select(r => set.Labels[1][r]).ToArray())));
        var g = GroupAuc.Compute(set.Probabilities[0], set.Labels[0], set.UserIds);
        Assert.That(report["gauc_is_click"], Is.EqualTo(g.Gauc));
        Assert.That(report["valid_users_is_click"], Is.EqualTo(g.ValidUsers));
        Assert.That(report["auc_macro"], Is.EqualTo((report["auc_is_click"] + report["auc_long_view"]) / 2).Within(1e-15));
        Assert.That(report["logloss_is_click"], Is.EqualTo(LogLoss.Compute(set.Probabilities[0], set.Labels[0])));
    }

    [Test]
    public void ReportsOracleAucAndLiftShareOnSyntheticData()
    {
        var set = RandomSet(12, 2000, oracle: true);
        var report = MetricsReport.Compute(set, "tab", 3);
        var oracle = Auc.Compute(set.TrueProbabilities![0], set.Labels[0]);
        Assert.That(report["auc_oracle_is_click"], Is.EqualTo(oracle));
        Assert.That(report["lift_share_is_click"], Is.EqualTo((report["auc_is_click"] - 0.5) / (oracle - 0.5)).Within(1e-15));
        // Noisy predictions rank worse than the truth they were made from.
        Assert.That(report["lift_share_is_click"], Is.GreaterThan(0).And.LessThan(1));
        Assert.That(report.Keys, Does.Contain("lift_share_macro").And.Contain("auc_oracle_long_view_tab2"));
    }

    [Test]
    public void UndefinedSliceIsNaNAndNullInJson()
    {
        // Scenario 1 has only negatives for is_click.
        var set = new PredictionSet(["is_click"], [[0.2f, 0.8f, 0.3f, 0.4f]], [[0, 1, 0, 0]], [0, 0, 1, 1], [1, 1, 2, 2]);
        var report = MetricsReport.Compute(set, "tab", 2);
        Assert.That(report["auc_is_click_tab1"], Is.NaN);
        Assert.That(report["auc_is_click_tab0"], Is.EqualTo(1.0));
        Assert.That(MetricsReport.Format("auc_is_click_tab1", report["auc_is_click_tab1"]), Is.EqualTo("n/a"));
        var back = MetricsReport.ReadJson(report.ToJson());
        Assert.That(report.ToJson(), Does.Contain("\"auc_is_click_tab1\": null"));
        Assert.That(back["auc_is_click_tab1"], Is.NaN);
        Assert.That(back["auc_is_click"], Is.EqualTo(report["auc_is_click"]));
    }

    [Test]
    public void RejectsScenarioOutOfRange()
    {
        var set = new PredictionSet(["is_click"], [[0.2f, 0.8f]], [[0, 1]], [0, 5], [1, 1]);
        Assert.Throws<ArgumentException>(() => MetricsReport.Compute(set, "tab", 2));
    }

    [Test]
    public void RunsLogWritesHeaderOnceAndWidensForNewColumns()
    {
        var dir = Directory.CreateTempSubdirectory("dynrec-runs-").FullName;
        try
        {
            var path = Path.Combine(dir, "runs.csv");
            var a = MetricsReport.Compute(RandomSet(1, 300, false), "tab", 3);
            RunsLog.Append(path, [new("run", "a")], a.Values);
            RunsLog.Append(path, [new("run", "b")], a.Values);
            var lines = File.ReadAllLines(path);
            Assert.That(lines, Has.Length.EqualTo(3));
            Assert.That(lines[0], Does.StartWith("run,auc_is_click,gauc_is_click,valid_users_is_click,wgauc_is_click,logloss_is_click,"));
            Assert.That(lines.Count(l => l.Contains("auc_is_click")), Is.EqualTo(1));

            var withOracle = MetricsReport.Compute(RandomSet(2, 300, true), "tab", 3);
            RunsLog.Append(path, [new("run", "c")], withOracle.Values);
            lines = File.ReadAllLines(path);
            Assert.That(lines, Has.Length.EqualTo(4));
            Assert.That(lines[0], Does.Contain("auc_oracle_is_click"));
            Assert.That(lines.Skip(1).Select(l => l.Split(',').Length).Distinct().Count(), Is.EqualTo(1));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
