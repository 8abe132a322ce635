namespace DynRec.Config;

/// <summary>The `train` section, typed and range-checked.</summary>
public sealed record TrainOptions
{
    public required int Epochs { get; init; }
    public required int BatchSize { get; init; }
    public required int EvalBatchSize { get; init; }
    public required double Lr { get; init; }
    public required double WeightDecay { get; init; }
    public required string Optimizer { get; init; }
    /// <summary>&gt; 0: clip the dense gradients by their global L2 norm before each step; 0 = no clipping.</summary>
    public required double MaxGradNorm { get; init; }
    /// <summary>Task -&gt; weight of its BCE term; tasks not listed weigh 1.0.</summary>
    public required IReadOnlyDictionary<string, double> TaskWeights { get; init; }
    public required string EarlyStoppingMetric { get; init; }
    /// <summary>Evaluations without improvement before stopping; 0 = never stop early.</summary>
    public required int Patience { get; init; }
    public required long Seed { get; init; }
    public required int EvalEvery { get; init; }
    /// <summary>
    /// &gt; 0: the last N dates of the training rows are held out as a validation split that the per-epoch
    /// evaluation, early stopping and the best checkpoint use; the test split is scored once at the end with the
    /// best epoch's weights. 0 = evaluate and select on the test split (FunRec's recipe).
    /// </summary>
    public int ValidationDays { get; init; }
    public required bool Shuffle { get; init; }
    public required double LogEverySeconds { get; init; }
    /// <summary>&gt; 0: also write a resumable checkpoint every N optimizer steps inside an epoch; 0 = only at epoch ends.</summary>
    public long CheckpointEverySteps { get; init; }

    /// <summary>True when a smaller value of the early-stopping metric is better (logloss*).</summary>
    public bool MetricIsLoss => EarlyStoppingMetric.StartsWith("logloss", StringComparison.Ordinal);

    /// <summary>Weight of each task in schema order; a task_weights key that is not a task is an error.</summary>
    public float[] WeightsFor(IReadOnlyList<string> tasks)
    {
        foreach (var key in TaskWeights.Keys)
            if (!tasks.Contains(key))
                throw new ConfigException($"train.task_weights.{key}: not a task of this data; tasks: {string.Join(", ", tasks)}");
        return tasks.Select(t => (float)TaskWeights.GetValueOrDefault(t, 1.0)).ToArray();
    }

    /// <summary>Checks that the early-stopping metric is a key the metrics report will have for these tasks.</summary>
    public void ValidateMetric(IReadOnlyList<string> tasks, string scenarioName, int scenarioCount)
    {
        var valid = MetricKeys(tasks, scenarioName, scenarioCount);
        if (!valid.Contains(EarlyStoppingMetric))
            throw new ConfigException($"train.early_stopping.metric: unknown metric '{EarlyStoppingMetric}'; valid: {string.Join(", ", valid.Take(14))}, ... (any metrics key)");
    }

    /// <summary>The metric keys usable for early stopping (those a report always contains).</summary>
    public static List<string> MetricKeys(IReadOnlyList<string> tasks, string scenarioName, int scenarioCount)
    {
        var keys = new List<string> { "auc_macro", "gauc_macro", "wgauc_macro", "logloss_macro" };
        foreach (var suffix in new[] { "" }.Concat(Enumerable.Range(0, scenarioCount).Select(s => $"_{scenarioName}{s}")))
            foreach (var t in tasks)
                keys.AddRange(["auc_" + t + suffix, "gauc_" + t + suffix, "wgauc_" + t + suffix, "logloss_" + t + suffix]);
        return keys;
    }
}
