using System.Runtime.InteropServices;

namespace DynRec.Cli;

/// <summary>
/// Turns the first SIGINT (Ctrl-C) or SIGTERM (`kill`, a scheduler's preemption) into a stop request, so a
/// long job can finish its step and save; a second signal takes the default action and ends the process at once.
/// </summary>
public sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration[] _registrations;
    private readonly TextWriter _notice;
    private readonly string _what;
    private int _signal;

    /// <param name="what">What the first signal does, for the note on stderr ("saving a checkpoint after this step").</param>
    public StopSignals(string what, TextWriter? notice = null)
    {
        (_what, _notice) = (what, notice ?? Console.Error);
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    public CancellationToken Token => _stop.Token;

    /// <summary>The exit code a shell expects of a process ended by the signal received (128 + its number): 130 for SIGINT, 143 for SIGTERM.</summary>
    public int ExitCode => 128 + (Volatile.Read(ref _signal) == (int)PosixSignal.SIGTERM ? 15 : 2);

    private void OnSignal(PosixSignalContext context)
    {
        if (_stop.IsCancellationRequested) return;  // the second one: default action
        context.Cancel = true;
        Volatile.Write(ref _signal, (int)context.Signal);
        _notice.WriteLine($"dynrec: {(context.Signal == PosixSignal.SIGTERM ? "SIGTERM" : "interrupt")}: {_what} (signal again to quit at once)");
        _stop.Cancel();
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _stop.Dispose();
    }
}
