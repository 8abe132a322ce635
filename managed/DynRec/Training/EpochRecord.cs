using System.Globalization;

namespace DynRec.Training;

/// <summary>
/// One epoch's outcome: mean training loss (task-weighted BCE, per row), the
/// loss on the evaluated split (task-weighted logloss; named TestLoss, as the
/// test split is the one evaluated unless train.validation_days is set, see
/// <see cref="EvaluatedOn"/>) and the full metrics by key when the epoch was
/// evaluated (null otherwise). Kept in checkpoints so a resumed run has the
/// whole history for early stopping and plots.
/// </summary>
public sealed record EpochRecord(int Epoch, long Step, double TrainLoss, double? TestLoss, Dictionary<string, double>? Metrics, double Seconds)
{
    /// <summary>The split <see cref="TestLoss"/> and <see cref="Metrics"/> come from: "test" or "validation".</summary>
    public string EvaluatedOn { get; init; } = "test";

    public string Summary()
    {
        var s = string.Create(CultureInfo.InvariantCulture, $"epoch {Epoch} done in {Seconds:F1}s: train loss {TrainLoss:F5}");
        if (TestLoss is { } t) s += string.Create(CultureInfo.InvariantCulture, $", {EvaluatedOn} loss {t:F5}");
        if (Metrics != null && Metrics.TryGetValue("auc_macro", out var auc)) s += string.Create(CultureInfo.InvariantCulture, $", auc_macro {auc:F5}");
        return s;
    }
}
