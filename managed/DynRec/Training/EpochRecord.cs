using System.Globalization;

namespace DynRec.Training;

/// <summary>
/// One epoch's outcome: mean training loss (task-weighted BCE, per row), the
/// test loss (task-weighted logloss) and the full metrics by key when the
/// epoch was evaluated (null otherwise). Kept in checkpoints so a resumed run
/// has the whole history for early stopping and plots.
/// </summary>
public sealed record EpochRecord(int Epoch, long Step, double TrainLoss, double? TestLoss, Dictionary<string, double>? Metrics, double Seconds)
{
    public string Summary()
    {
        var s = string.Create(CultureInfo.InvariantCulture, $"epoch {Epoch} done in {Seconds:F1}s: train loss {TrainLoss:F5}");
        if (TestLoss is { } t) s += string.Create(CultureInfo.InvariantCulture, $", test loss {t:F5}");
        if (Metrics != null && Metrics.TryGetValue("auc_macro", out var auc)) s += string.Create(CultureInfo.InvariantCulture, $", auc_macro {auc:F5}");
        return s;
    }
}
