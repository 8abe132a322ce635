using DynRec.Config;
using DynRec.Metrics;

namespace DynRec.Training;

/// <summary>What a finished (or early-stopped) training run produced.</summary>
/// <param name="BestEpoch">The epoch whose checkpoint `best` names (0 when no epoch was evaluated).</param>
/// <param name="BestMetrics">Metrics of the best epoch by key (from the history, so also after a resume).</param>
/// <param name="LastReport">The full report of the last evaluation in this process (null if none ran).</param>
public sealed record TrainingResult(IReadOnlyList<EpochRecord> History, int BestEpoch, IReadOnlyDictionary<string, double>? BestMetrics,
    MetricsReport? LastReport, bool StoppedEarly, string CheckpointsDirectory);
