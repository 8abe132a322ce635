namespace DynRec.Training;

/// <summary>
/// Training stopped because its cancellation token was signalled (the CLI signals it on Ctrl-C or SIGTERM).
/// The run stopped between two steps and left a resumable checkpoint: a mid-epoch one when it stopped inside
/// an epoch, the epoch's own when it stopped at an epoch's end.
/// </summary>
public sealed class TrainingInterruptedException : OperationCanceledException
{
    public TrainingInterruptedException(int epoch, long rowsDone, long epochRows, long step, string? checkpoint)
        : base(Describe(epoch, rowsDone, epochRows, step, checkpoint))
    {
        (Epoch, RowsDone, Step, Checkpoint) = (epoch, rowsDone, step, checkpoint);
    }

    /// <summary>The epoch training was in (the next one, with <see cref="RowsDone"/> 0, when it stopped between epochs).</summary>
    public int Epoch { get; }

    /// <summary>Rows of <see cref="Epoch"/> trained on before stopping.</summary>
    public long RowsDone { get; }

    /// <summary>Optimizer steps of the whole run.</summary>
    public long Step { get; }

    /// <summary>The checkpoint directory to resume from; null when the run stopped before its first step.</summary>
    public string? Checkpoint { get; }

    private static string Describe(int epoch, long rowsDone, long epochRows, long step, string? checkpoint) =>
        checkpoint == null
            ? "training interrupted before its first step; no checkpoint written"
            : rowsDone == 0
                ? $"training interrupted before epoch {epoch} (step {step}); checkpoint {checkpoint}"
                : $"training interrupted in epoch {epoch} after {rowsDone} of its {epochRows} rows (step {step}); checkpoint {checkpoint}";
}
