using System.Globalization;
using System.Text.Json;
using DynRec.Config;
using DynRec.Metrics;
using DynRec.Training.Checkpointing;

namespace DynRec.Training;

/// <summary>
/// The files a run leaves in its output folder: config.yaml (the effective
/// config, loadable with --config), metrics.json (the best epoch's metrics on
/// the test split, FunRec column names, undefined = null), with
/// train.validation_days also validation_metrics.json (the best epoch's on the
/// validation split, which selected it), history.json (every epoch), the PNG
/// plots, and one row appended to the runs CSV.
/// </summary>
public static class RunOutputs
{
    public const string ConfigFile = "config.yaml";
    public const string MetricsFile = "metrics.json";
    public const string ValidationMetricsFile = "validation_metrics.json";
    public const string HistoryFile = "history.json";

    /// <summary>Default runs CSV: runs.csv in the folder that holds the run's folder.</summary>
    public static string DefaultRunsCsv(string outDirectory) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outDirectory).TrimEnd('/')) ?? ".", "runs.csv");

    public static void WriteConfig(string outDirectory, RunConfig config) =>
        AtomicFile.WriteAllText(Path.Combine(outDirectory, ConfigFile), config.ToYaml());

    public static void WriteMetrics(string path, IReadOnlyDictionary<string, double> metrics)
    {
        var obj = new OrderedDictionary<string, double?>();
        foreach (var (k, v) in metrics) obj[k] = double.IsNaN(v) ? null : v;
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(obj, new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Writes metrics.json, history.json, plots and the runs CSV row for a finished run.</summary>
    public static List<string> WriteResults(string outDirectory, RunConfig config, TrainingResult result, Data.FeatureSchema schema,
        string dataName, string runsCsv)
    {
        var written = new List<string>();
        AtomicFile.WriteAllText(Path.Combine(outDirectory, HistoryFile), JsonSerializer.Serialize(result.History, CheckpointInfo.JsonOptions));
        written.Add(Path.Combine(outDirectory, HistoryFile));
        // metrics.json: the best epoch on the test split; with a validation split also validation_metrics.json.
        var metrics = result.TestMetrics ?? result.BestMetrics;
        var metricsSplit = result.TestMetrics != null ? "test" : result.SelectedOn;
        if (result.TestMetrics != null)
        {
            WriteMetrics(Path.Combine(outDirectory, MetricsFile), result.TestMetrics);
            written.Add(Path.Combine(outDirectory, MetricsFile));
        }
        if (result.SelectedOn == "validation" && result.BestMetrics != null)
        {
            WriteMetrics(Path.Combine(outDirectory, ValidationMetricsFile), result.BestMetrics);
            written.Add(Path.Combine(outDirectory, ValidationMetricsFile));
        }
        written.AddRange(RunPlots.Write(outDirectory, result.History, schema.Tasks, schema.ScenarioField, schema.ScenarioCount));
        if (metrics != null)
        {
            var last = result.History[^1];
            RunsLog.Append(runsCsv,
            [
                new("finished_utc", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)),
                new("run", Path.GetFullPath(outDirectory)),
                new("model", config.ModelName),
                new("data", dataName),
                new("seed", config.Train.Seed.ToString(CultureInfo.InvariantCulture)),
                new("epochs_run", last.Epoch.ToString(CultureInfo.InvariantCulture)),
                new("best_epoch", result.BestEpoch.ToString(CultureInfo.InvariantCulture)),
                new("train_seconds", result.History.Sum(h => h.Seconds).ToString("F1", CultureInfo.InvariantCulture)),
                new("selected_on", result.SelectedOn),
                new("metrics_split", metricsSplit),
            ], metrics);
            written.Add(runsCsv);
        }
        return written;
    }
}
