using System.CommandLine;
using System.Globalization;
using DynRec.Training;
using DynRec.Training.Checkpointing;
using nietras.SeparatedValues;

namespace DynRec.Cli.Commands;

/// <summary>
/// `dynrec predict`: one CSV row per data row: row_id (row of the split), the
/// row's keys in the source data, named as there (KuaiRand: raw user_id, video_id,
/// time_ms, date, tab; a table folder: its user, item, date and scenario columns
/// and source_row, the row's position in its files) so it joins back, one probability
/// column per task, then each task's label (not for an impression log, which has none).
/// </summary>
public static class PredictCommand
{
    public sealed record Arguments(string Checkpoint, string? Data, string Split, string Out, string Device, string Kernels, string? Model, int BatchSize, int Threads = 0);

    public static Command Create(TrainingServices services)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder, or a run folder (uses its best checkpoint)", Required = true };
        var data = new Option<string?>("--data") { Description = "synthetic, a KuaiRand folder or a table folder (dynrec-table.yaml) (default: the data the checkpoint was trained on)" };
        var split = new Option<string>("--split") { Description = "test, validation (a run with train.validation_days: its held-out dates) or train (the rows it was fitted on)", DefaultValueFactory = _ => "test" };
        var output = new Option<string>("--out") { Description = "CSV to write", DefaultValueFactory = _ => "predictions.csv" };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var kernels = new Option<string>("--kernels") { Description = "native or reference", DefaultValueFactory = _ => "native" };
        var model = new Option<string?>("--model") { Description = "Expected model (checked against the checkpoint)" };
        var batch = new Option<int>("--batch-size") { Description = "Rows per forward pass", DefaultValueFactory = _ => 8192 };
        var threads = CliThreads.Create();
        var cmd = new Command("predict", "Write each row's predicted probability per task to a CSV")
            { checkpoint, data, split, output, device, kernels, model, batch, threads };
        cmd.SetAction(pr => Run(new Arguments(pr.GetValue(checkpoint)!, pr.GetValue(data), pr.GetValue(split)!, pr.GetValue(output)!,
            pr.GetValue(device)!, pr.GetValue(kernels)!, pr.GetValue(model), pr.GetValue(batch), pr.GetValue(threads)), services));
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
        var model = trained.Model;
        var source = data.Split(a.Split, trained.Info.ValidationDays);
        var p = Evaluator.Predict(model, source, a.BatchSize, device);
        var names = data.KeyColumns;
        static string Text(long v) => v.ToString(CultureInfo.InvariantCulture);
        AtomicFile.Write(a.Out, stream =>
        {
            using var text = new StreamWriter(stream, leaveOpen: true);
            using var writer = Sep.New(',').Writer(o => o with { Escape = true }).To(text);
            for (var r = 0; r < p.Rows; r++)
            {
                var key = source.KeyOf(r);
                using var row = writer.NewRow();
                row["row_id"].Set(Text(r));
                row[names.User].Set(key.UserId.ToString());
                if (names.Item != null) row[names.Item].Set(key.VideoId.ToString());
                row[names.Time].Set(Text(key.TimeMs));
                row[names.Date].Set(Text(key.Date));
                row[names.Scenario].Set(key.Scenario.ToString());
                for (var t = 0; t < p.Tasks.Count; t++)
                    row[p.Tasks[t]].Set(p.Probabilities[t][r].ToString("R", CultureInfo.InvariantCulture));
                if (source.HasLabels)
                    for (var t = 0; t < p.Tasks.Count; t++)
                        row[p.Tasks[t] + "_label"].Set(Text((long)p.Labels[t][r]));
            }
        });
        Console.WriteLine($"wrote {p.Rows} rows x {p.Tasks.Count} task(s) to {a.Out}");
        return 0;
    }
}
