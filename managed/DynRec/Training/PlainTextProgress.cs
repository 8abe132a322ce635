using System.Diagnostics;
using System.Globalization;

namespace DynRec.Training;

/// <summary>
/// Progress as plain lines, at most one every <c>interval</c> (plus one per
/// epoch start and end): for logs, CI and redirected output, where a live bar
/// would only write control codes.
/// </summary>
public sealed class PlainTextProgress : ITrainingProgress
{
    private readonly TextWriter _out;
    private readonly TimeSpan _interval;
    private readonly Stopwatch _clock = new();
    private TimeSpan _lastLine;
    private int _epoch, _epochs;
    private long _steps, _rows;

    public PlainTextProgress(TextWriter output, TimeSpan interval)
    {
        _out = output;
        _interval = interval;
    }

    public void EpochStarted(int epoch, int epochs, long steps, long rows)
    {
        (_epoch, _epochs, _steps, _rows) = (epoch, epochs, steps, rows);
        _clock.Restart();
        _lastLine = TimeSpan.Zero;
        _out.WriteLine($"epoch {epoch}/{epochs}: {rows} rows in {steps} steps");
    }

    public void StepCompleted(long step, long rowsDone, Func<double> meanLoss)
    {
        var now = _clock.Elapsed;
        if (now - _lastLine < _interval && step != _steps) return;
        _lastLine = now;
        var rate = rowsDone / Math.Max(now.TotalSeconds, 1e-9);
        var eta = TimeSpan.FromSeconds((_rows - rowsDone) / Math.Max(rate, 1e-9));
        _out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch {_epoch}/{_epochs} step {step}/{_steps} loss {meanLoss():F5} {rate:F0} samples/s eta {eta:hh\\:mm\\:ss}"));
    }

    public void EpochCompleted(EpochRecord record) => _out.WriteLine(record.Summary());

    public void Message(string line) => _out.WriteLine(line);
}
