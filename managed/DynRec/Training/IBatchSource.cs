using DynRec.Data;
using static TorchSharp.torch;

namespace DynRec.Training;

/// <summary>
/// Rows of one data split, handed out as mini-batches: the one thing the
/// trainer, evaluator and predictor need from the data layer. Rows are
/// addressed 0..Rows-1; <see cref="GetBatch"/> gathers the given rows (in the
/// given order) into a <see cref="Batch"/> on <paramref name="device"/> (null =
/// CPU); the caller owns (disposes) the batch. DynRec.Data.Dataset has exactly
/// these members.
/// </summary>
public interface IBatchSource
{
    FeatureSchema Schema { get; }
    int Rows { get; }

    /// <summary>
    /// Oracle[task][row]: each row's true probability per task (schema task order) when the ground truth is
    /// known (synthetic data), else null. Metrics then add the oracle AUC and the share of achievable lift.
    /// </summary>
    float[][]? Oracle { get; }

    /// <summary>False when the rows are impressions to score: their labels are 0, not observed.</summary>
    bool HasLabels { get; }

    /// <summary>Row <paramref name="row"/>'s identity in the source log (raw user_id, video_id, time_ms, date, tab).</summary>
    RowKey KeyOf(int row);

    Batch GetBatch(ReadOnlySpan<int> rows, Device? device = null);
}
