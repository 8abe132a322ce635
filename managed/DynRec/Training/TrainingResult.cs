using DynRec.Config;
using DynRec.Metrics;

namespace DynRec.Training;

/// <summary>What a finished (or early-stopped) training run produced.</summary>
/// <param name="BestEpoch">The epoch whose checkpoint `best` names (0 when no epoch was evaluated).</param>
/// <param name="BestMetrics">Metrics of the best epoch by key (from the history, so also after a resume).</param>
/// <param name="LastReport">The full report of the last evaluation in this process (null if none ran).</param>
public sealed record TrainingResult(IReadOnlyList<EpochRecord> History, int BestEpoch, IReadOnlyDictionary<string, double>? BestMetrics,
    MetricsReport? LastReport, bool StoppedEarly, string CheckpointsDirectory)
{
    /// <summary>The split the epochs were evaluated and the best one selected on: "test" or "validation".</summary>
    public string SelectedOn { get; init; } = "test";

    /// <summary>
    /// The best epoch's metrics on the test split: <see cref="BestMetrics"/> when selecting on the test split,
    /// else the test split scored once with the best checkpoint's weights (null when it has no labels).
    /// </summary>
    public IReadOnlyDictionary<string, double>? TestMetrics { get; init; }
}
