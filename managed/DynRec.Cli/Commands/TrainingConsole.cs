using System.Diagnostics;
using System.Globalization;
using DynRec.Metrics;
using DynRec.Training;
using Spectre.Console;

namespace DynRec.Cli.Commands;

/// <summary>Console rendering for the training commands: metrics tables and progress.</summary>
public static class TrainingConsole
{
    /// <summary>True when stdout is a terminal that can redraw a live progress bar.</summary>
    public static bool IsInteractive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="body"/> with a live progress bar on a terminal, or with periodic plain lines otherwise.</summary>
    public static T WithProgress<T>(double logEverySeconds, Func<ITrainingProgress, T> body)
    {
        if (!IsInteractive) return body(new PlainTextProgress(Console.Out, TimeSpan.FromSeconds(logEverySeconds)));
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx => result = body(new LiveProgress(ctx)));
        return result;
    }

    /// <summary>
    /// The overall table (a row per metric, a column per task plus macro: narrow enough for 80 columns with
    /// three tasks) and the per-scenario table (auc / gauc per task). Cells of undefined metrics read n/a.
    /// </summary>
    public static void PrintMetrics(IReadOnlyDictionary<string, double> metrics, LoadedData data, string title)
    {
        var (tasks, scenarioName, scenarioCount) = (data.Schema.Tasks, data.Schema.ScenarioField, data.Schema.ScenarioCount);
        var hasOracle = tasks.Any(t => metrics.ContainsKey($"auc_oracle_{t}"));
        var rows = new List<string> { "auc", "gauc", "valid_users", "wgauc", "logloss" };
        if (hasOracle) rows.AddRange(["auc_oracle", "lift_share"]);
        var table = new Table().Title(Markup.Escape(title)).AddColumn("metric");
        foreach (var t in tasks) table.AddColumn(new TableColumn(Markup.Escape(t)).RightAligned());
        table.AddColumn(new TableColumn("macro").RightAligned());
        foreach (var r in rows)
            table.AddRow([r, .. tasks.Select(t => Cell(metrics, $"{r}_{t}")), Cell(metrics, $"{r}_macro")]);
        AnsiConsole.Write(table);

        var perScenario = new Table().Title(Markup.Escape($"per {scenarioName}: auc / gauc")).AddColumn(Markup.Escape(scenarioName));
        foreach (var t in tasks) perScenario.AddColumn(new TableColumn(Markup.Escape(t)).RightAligned());
        for (var s = 0; s < scenarioCount; s++)
            perScenario.AddRow([Markup.Escape(ScenarioLabel(scenarioName, s, data.ScenarioValues)), .. tasks.Select(t => $"{Cell(metrics, $"auc_{t}_{scenarioName}{s}")} / {Cell(metrics, $"gauc_{t}_{scenarioName}{s}")}")]);
        AnsiConsole.Write(perScenario);
    }

    /// <summary>"tab3 = 4": the metrics' name of scenario index s, then its raw value when known (KuaiRand's tab 4 is index 3).</summary>
    private static string ScenarioLabel(string scenarioName, int s, IReadOnlyList<string>? values) =>
        values != null && s < values.Count ? $"{scenarioName}{s} = {values[s]}" : $"{scenarioName}{s}";

    private static string Cell(IReadOnlyDictionary<string, double> metrics, string key) =>
        metrics.TryGetValue(key, out var v) ? Markup.Escape(MetricsReport.Format(key, v)) : "";

    /// <summary>Progress on a Spectre live display: one bar per epoch, with loss and samples/s in its description.</summary>
    private sealed class LiveProgress(ProgressContext ctx) : ITrainingProgress
    {
        private readonly Stopwatch _clock = new();
        private ProgressTask? _task;
        private TimeSpan _lastUpdate;
        private string _label = "";

        public void EpochStarted(int epoch, int epochs, long steps, long rows)
        {
            _label = $"epoch {epoch}/{epochs}";
            _task = ctx.AddTask(_label, maxValue: Math.Max(rows, 1));
            _clock.Restart();
            _lastUpdate = TimeSpan.Zero;
        }

        public void StepCompleted(long step, long rowsDone, Func<double> meanLoss)
        {
            if (_task == null) return;
            _task.Value = rowsDone;
            var now = _clock.Elapsed;
            // Reading the loss synchronizes with the device: a few times a second is enough for a display.
            if (now - _lastUpdate < TimeSpan.FromMilliseconds(250) && rowsDone < _task.MaxValue) return;
            _lastUpdate = now;
            var rate = rowsDone / Math.Max(now.TotalSeconds, 1e-9);
            _task.Description = string.Create(CultureInfo.InvariantCulture, $"{_label} loss {meanLoss():F5} {rate:N0} samples/s");
        }

        public void EpochCompleted(EpochRecord record)
        {
            if (_task != null) _task.Value = _task.MaxValue;
            AnsiConsole.MarkupLine(Markup.Escape(record.Summary()));
        }

        public void Message(string line) => AnsiConsole.MarkupLine(Markup.Escape(line));
    }
}
