using DynRec.Data;
using static TorchSharp.torch;

namespace DynRec.Training;

/// <summary>
/// Rows of one data split, handed out as mini-batches: the one thing the
/// trainer, evaluator and predictor need from the data layer. Rows are
/// addressed 0..Rows-1; <see cref="GetBatch"/> gathers the given rows (in
/// the given order) into a <see cref="Batch"/> on <paramref name="device"/>;
/// the caller owns (disposes) the batch.
/// </summary>
public interface IBatchSource
{
    FeatureSchema Schema { get; }
    long Rows { get; }
    Batch GetBatch(ReadOnlySpan<int> rows, Device device);
}

/// <summary>
/// Optionally implemented by a split whose ground truth is known (synthetic
/// data): each row's true probability per task, so metrics can report the
/// oracle AUC and the share of the achievable lift.
/// </summary>
public interface IOracleSource
{
    /// <summary>True probabilities of task <paramref name="task"/> (schema order), one per row, row order.</summary>
    float[] TrueProbabilities(int task);
}
