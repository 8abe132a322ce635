namespace DynRec.Training;

/// <summary>
/// What the trainer reports while it runs; the CLI renders it as a live
/// progress bar on a terminal or as periodic plain lines otherwise.
/// </summary>
public interface ITrainingProgress
{
    void EpochStarted(int epoch, int epochs, long steps, long rows);
    /// <summary>After each step; <paramref name="meanLoss"/> reads the epoch's running loss (a device sync: call it sparingly).</summary>
    void StepCompleted(long step, long rowsDone, Func<double> meanLoss);
    void EpochCompleted(EpochRecord record);
    void Message(string line);
}

/// <summary>Reports nothing (library use, tests).</summary>
public sealed class SilentProgress : ITrainingProgress
{
    public static readonly SilentProgress Instance = new();
    public void EpochStarted(int epoch, int epochs, long steps, long rows) { }
    public void StepCompleted(long step, long rowsDone, Func<double> meanLoss) { }
    public void EpochCompleted(EpochRecord record) { }
    public void Message(string line) { }
}
