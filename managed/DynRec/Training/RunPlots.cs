using ScottPlot;

namespace DynRec.Training;

/// <summary>
/// PNG charts of a run, from its epoch history: loss.png (train and test, or
/// validation, loss per epoch) and auc_&lt;task&gt;.png (AUC per scenario and
/// overall, per evaluated epoch). Returns the files written.
/// </summary>
public static class RunPlots
{
    public static List<string> Write(string outDirectory, IReadOnlyList<EpochRecord> history, IReadOnlyList<string> tasks, string scenarioName,
        int scenarioCount)
    {
        Directory.CreateDirectory(outDirectory);
        var written = new List<string>();
        if (history.Count == 0) return written;

        var loss = new Plot();
        var epochs = history.Select(h => (double)h.Epoch).ToArray();
        AddLine(loss, epochs, history.Select(h => h.TrainLoss).ToArray(), "train loss");
        var evaluated = history.Where(h => h.TestLoss != null).ToList();
        if (evaluated.Count > 0)
            AddLine(loss, evaluated.Select(h => (double)h.Epoch).ToArray(), evaluated.Select(h => h.TestLoss!.Value).ToArray(), $"{evaluated[^1].EvaluatedOn} loss");
        Finish(loss, "Loss per epoch (task-weighted BCE)", "loss", Alignment.UpperRight);
        written.Add(Save(loss, Path.Combine(outDirectory, "loss.png")));

        var withMetrics = history.Where(h => h.Metrics != null).ToList();
        if (withMetrics.Count == 0) return written;
        var x = withMetrics.Select(h => (double)h.Epoch).ToArray();
        foreach (var task in tasks)
        {
            var plot = new Plot();
            AddLine(plot, x, withMetrics.Select(h => h.Metrics!.GetValueOrDefault($"auc_{task}", double.NaN)).ToArray(), "all", lineWidth: 3);
            for (var s = 0; s < scenarioCount; s++)
                AddLine(plot, x, withMetrics.Select(h => h.Metrics!.GetValueOrDefault($"auc_{task}_{scenarioName}{s}", double.NaN)).ToArray(), $"{scenarioName}{s}");
            var split = withMetrics[^1].EvaluatedOn;
            Finish(plot, $"{char.ToUpperInvariant(split[0])}{split[1..]} AUC of {task} per {scenarioName}", "AUC", Alignment.LowerRight);
            written.Add(Save(plot, Path.Combine(outDirectory, $"auc_{task}.png")));
        }
        return written;
    }

    private static void AddLine(Plot plot, double[] x, double[] y, string label, float lineWidth = 1.5f)
    {
        // NaN (a scenario with one class) would break the line; such points are left out.
        var keep = Enumerable.Range(0, x.Length).Where(i => double.IsFinite(y[i])).ToArray();
        if (keep.Length == 0) return;
        var scatter = plot.Add.Scatter(keep.Select(i => x[i]).ToArray(), keep.Select(i => y[i]).ToArray());
        scatter.LegendText = label;
        scatter.MarkerSize = 6;
        scatter.LineWidth = lineWidth;
    }

    private static void Finish(Plot plot, string title, string yLabel, Alignment legend)
    {
        plot.Title(title);
        plot.XLabel("epoch");
        plot.YLabel(yLabel);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1); // whole epochs
        plot.ShowLegend(legend);
    }

    private static string Save(Plot plot, string path)
    {
        // Render to a temp name first so a reader never sees a half-written PNG.
        var tmp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp.png");
        plot.SavePng(tmp, 800, 500);
        File.Move(tmp, path, overwrite: true);
        return path;
    }
}
