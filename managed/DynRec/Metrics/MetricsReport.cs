using System.Globalization;
using System.Text.Json;

namespace DynRec.Metrics;

/// <summary>Metrics of one task over one slice of rows (all rows, or one scenario).</summary>
/// <param name="OracleAuc">AUC of the true probabilities (synthetic data only), else null.</param>
/// <param name="LiftShare">(AUC - 0.5) / (OracleAUC - 0.5): the share of the achievable lift over random, else null.</param>
public sealed record TaskMetrics(string Task, int Rows, int Positives, double Auc, double Gauc, int ValidUsers, double WeightedGauc,
    double LogLoss, double? OracleAuc, double? LiftShare);

/// <summary>
/// Per-task, per-scenario and macro metrics with FunRec's column names:
/// auc_is_click, gauc_is_click, valid_users_is_click, logloss_is_click, plus
/// wgauc_is_click (impression-weighted GAUC), auc_oracle_is_click and
/// lift_share_is_click on synthetic data, auc_macro/gauc_macro/... (mean over
/// tasks), and the same per scenario with a suffix: auc_is_click_tab0.
/// An undefined value (a slice with one class) is NaN here and null in JSON.
/// </summary>
public sealed class MetricsReport
{
    private MetricsReport(IReadOnlyList<TaskMetrics> overall, IReadOnlyList<IReadOnlyList<TaskMetrics>> perScenario, string scenarioName,
        IReadOnlyDictionary<string, double> values)
    {
        Overall = overall;
        PerScenario = perScenario;
        ScenarioName = scenarioName;
        Values = values;
    }

    /// <summary>One entry per task, all rows.</summary>
    public IReadOnlyList<TaskMetrics> Overall { get; }

    /// <summary>[scenario][task].</summary>
    public IReadOnlyList<IReadOnlyList<TaskMetrics>> PerScenario { get; }

    /// <summary>The scenario field's name used in key suffixes (tab -&gt; auc_is_click_tab0).</summary>
    public string ScenarioName { get; }

    /// <summary>Every metric by its column name, in a stable order (overall, macro, then per scenario).</summary>
    public IReadOnlyDictionary<string, double> Values { get; }

    public IEnumerable<string> Keys => Values.Keys;

    public double this[string key] => Values.TryGetValue(key, out var v)
        ? v
        : throw new KeyNotFoundException($"no metric '{key}'; known: {string.Join(", ", Values.Keys.Take(12))}, ...");

    public static MetricsReport Compute(PredictionSet set, string scenarioName, int scenarioCount)
    {
        if (scenarioCount < 1) throw new ArgumentException($"scenario count must be >= 1, got {scenarioCount}");
        foreach (var s in set.Scenario)
            if (s < 0 || s >= scenarioCount) throw new ArgumentException($"scenario {s} outside 0..{scenarioCount - 1}");

        // Slices: all rows, then each scenario. Each slice's user grouping is shared by its tasks, and the
        // (slice, task) cells are independent, so they run in parallel.
        var slices = new List<int[]> { Enumerable.Range(0, set.Rows).ToArray() };
        for (var s = 0; s < scenarioCount; s++) slices.Add(Enumerable.Range(0, set.Rows).Where(r => set.Scenario[r] == s).ToArray());
        var groups = new UserGroups[slices.Count];
        Parallel.For(0, slices.Count, i => groups[i] = new UserGroups(Gather(set.UserIds, slices[i])));
        var cells = new TaskMetrics[slices.Count, set.Tasks.Count];
        Parallel.For(0, slices.Count * set.Tasks.Count, k =>
        {
            var (slice, task) = (k / set.Tasks.Count, k % set.Tasks.Count);
            cells[slice, task] = ComputeSlice(set, task, slices[slice], groups[slice]);
        });
        var overall = Enumerable.Range(0, set.Tasks.Count).Select(t => cells[0, t]).ToList();
        var perScenario = new List<IReadOnlyList<TaskMetrics>>();
        for (var s = 0; s < scenarioCount; s++)
            perScenario.Add(Enumerable.Range(0, set.Tasks.Count).Select(t => cells[s + 1, t]).ToList());

        var values = new OrderedDictionary<string, double>();
        foreach (var m in overall) AddTaskKeys(values, m, "");
        values["auc_macro"] = MeanDefined(overall.Select(m => m.Auc));
        values["gauc_macro"] = MeanDefined(overall.Select(m => m.Gauc));
        values["wgauc_macro"] = MeanDefined(overall.Select(m => m.WeightedGauc));
        values["logloss_macro"] = MeanDefined(overall.Select(m => m.LogLoss));
        if (set.TrueProbabilities != null)
            values["lift_share_macro"] = MeanDefined(overall.Select(m => m.LiftShare ?? double.NaN));
        for (var s = 0; s < scenarioCount; s++)
            foreach (var m in perScenario[s]) AddTaskKeys(values, m, $"_{scenarioName}{s}");
        return new MetricsReport(overall, perScenario, scenarioName, values);
    }

    private static TaskMetrics ComputeSlice(PredictionSet set, int task, int[] rows, UserGroups users)
    {
        var p = Gather(set.Probabilities[task], rows);
        var y = Gather(set.Labels[task], rows);
        var auc = Auc.Compute(p, y);
        var g = GroupAuc.Compute(p, y, users);
        double? oracle = null, lift = null;
        if (set.TrueProbabilities != null)
        {
            oracle = Auc.Compute(Gather(set.TrueProbabilities[task], rows), y);
            lift = (auc - 0.5) / (oracle.Value - 0.5);
        }
        var positives = y.Count(v => v > 0.5f);
        return new TaskMetrics(set.Tasks[task], rows.Length, positives, auc, g.Gauc, g.ValidUsers, g.WeightedGauc,
            LogLoss.Compute(p, y), oracle, lift);
    }

    private static T[] Gather<T>(T[] source, int[] rows)
    {
        var result = new T[rows.Length];
        for (var i = 0; i < rows.Length; i++) result[i] = source[rows[i]];
        return result;
    }

    private static void AddTaskKeys(OrderedDictionary<string, double> values, TaskMetrics m, string suffix)
    {
        values[$"auc_{m.Task}{suffix}"] = m.Auc;
        values[$"gauc_{m.Task}{suffix}"] = m.Gauc;
        values[$"valid_users_{m.Task}{suffix}"] = m.ValidUsers;
        values[$"wgauc_{m.Task}{suffix}"] = m.WeightedGauc;
        values[$"logloss_{m.Task}{suffix}"] = m.LogLoss;
        if (m.OracleAuc is { } oracle)
        {
            values[$"auc_oracle_{m.Task}{suffix}"] = oracle;
            values[$"lift_share_{m.Task}{suffix}"] = m.LiftShare ?? double.NaN;
        }
    }

    /// <summary>Mean over the defined values; NaN when none is defined.</summary>
    private static double MeanDefined(IEnumerable<double> values)
    {
        var defined = values.Where(v => !double.IsNaN(v)).ToList();
        return defined.Count == 0 ? double.NaN : defined.Average();
    }

    /// <summary>A value as printed in tables and CSV: "n/a" when undefined, integers for counts.</summary>
    public static string Format(string key, double value) =>
        double.IsNaN(value) ? "n/a"
        : key.StartsWith("valid_users", StringComparison.Ordinal) ? ((long)value).ToString(CultureInfo.InvariantCulture)
        : value.ToString("0.000000", CultureInfo.InvariantCulture);

    /// <summary>The flat key -&gt; value object (undefined -&gt; null), UTF-8 JSON.</summary>
    public string ToJson()
    {
        var obj = new OrderedDictionary<string, double?>();
        foreach (var (key, value) in Values) obj[key] = double.IsNaN(value) ? null : value;
        return JsonSerializer.Serialize(obj, new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Reads <see cref="ToJson"/>'s output back as key -&gt; value (null -&gt; NaN).</summary>
    public static IReadOnlyDictionary<string, double> ReadJson(string json)
    {
        var obj = JsonSerializer.Deserialize<Dictionary<string, double?>>(json)
                  ?? throw new InvalidDataException("metrics JSON is empty");
        return obj.ToDictionary(kv => kv.Key, kv => kv.Value ?? double.NaN);
    }
}
