using System.CommandLine;
using DynRec.Metrics;
using DynRec.Training;
using DynRec.Training.Checkpointing;

namespace DynRec.Cli.Commands;

/// <summary>`dynrec eval`: metrics of a checkpoint on a split (per task, per scenario, macro), printed and optionally saved.</summary>
public static class EvalCommand
{
    public sealed record Arguments(string Checkpoint, string? Data, string Split, string Device, string Kernels, string? Model, string? Out, int BatchSize, int Threads = 0);

    public static Command Create(TrainingServices services)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder, or a run folder (uses its best checkpoint)", Required = true };
        var data = new Option<string?>("--data") { Description = "synthetic, a KuaiRand folder or a table folder (dynrec-table.yaml) (default: the data the checkpoint was trained on)" };
        var split = new Option<string>("--split") { Description = "test, validation (a run with train.validation_days: its held-out dates) or train (the rows it was fitted on)", DefaultValueFactory = _ => "test" };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var kernels = new Option<string>("--kernels") { Description = "native or reference", DefaultValueFactory = _ => "native" };
        var model = new Option<string?>("--model") { Description = "Expected model (checked against the checkpoint)" };
        var output = new Option<string?>("--out") { Description = "Folder to write metrics.json into" };
        var batch = new Option<int>("--batch-size") { Description = "Rows per forward pass", DefaultValueFactory = _ => 8192 };
        var threads = CliThreads.Create();
        var cmd = new Command("eval", "Evaluate a checkpoint: AUC, GAUC, logloss per task, per scenario and macro")
            { checkpoint, data, split, device, kernels, model, output, batch, threads };
        cmd.SetAction(pr => Run(new Arguments(pr.GetValue(checkpoint)!, pr.GetValue(data), pr.GetValue(split)!, pr.GetValue(device)!,
            pr.GetValue(kernels)!, pr.GetValue(model), pr.GetValue(output), pr.GetValue(batch), pr.GetValue(threads)), services));
        return cmd;
    }

    public static int Run(Arguments a, TrainingServices services)
    {
        var (device, kernels) = TrainingServices.CheckInferenceOptions(a.Device, a.Kernels, a.BatchSize, a.Split, a.Checkpoint, a.Model);
        CliThreads.Apply(a.Threads);
        using var trained = services.LoadTrained(a.Checkpoint, a.Model, device, kernels);
        var dataName = a.Data ?? trained.Info.Data ?? "synthetic";
        using var data = services.Load(dataName, trained.Encoding);
        TrainingServices.CheckData(trained, a.Checkpoint, data.Schema);
        var rows = data.Split(a.Split, trained.Info.ValidationDays);
        if (!rows.HasLabels)
            throw new UserException($"the {a.Split} rows of {dataName} have no labels (an impression log, rows to score): use predict");
        var (model, info) = (trained.Model, trained.Info);
        var predictions = Evaluator.Predict(model, rows, a.BatchSize, device);
        var report = MetricsReport.Compute(predictions, data.Schema.ScenarioField, data.Schema.ScenarioCount);
        TrainingConsole.PrintMetrics(report.Values, data,
            $"{info.Model} epoch {info.Epoch} on {a.Split} ({predictions.Rows} rows)");
        if (a.Out != null)
        {
            var path = Path.Combine(a.Out, RunOutputs.MetricsFile);
            RunOutputs.WriteMetrics(path, report.Values);
            Console.WriteLine($"wrote {path}");
        }
        return 0;
    }
}
