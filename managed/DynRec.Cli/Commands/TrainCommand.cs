using System.CommandLine;
using DynRec.Config;
using DynRec.Data;
using DynRec.Training;
using DynRec.Training.Checkpointing;
using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Cli.Commands;

/// <summary>
/// `dynrec train`: trains a model on synthetic or KuaiRand data, evaluating on
/// the test split (or, with train.validation_days, a validation split of the
/// last training dates) every epoch, and leaves in --out the effective config,
/// checkpoints (best and last), metrics.json, history.json and plots, plus a
/// row in the runs CSV. --resume continues the run in --out exactly. Ctrl-C or
/// SIGTERM stops after the step in progress with a checkpoint to resume from
/// (exit code 130 / 143); a second signal ends the process at once.
/// </summary>
public static class TrainCommand
{
    public sealed record Arguments(string? Model, string? Data, string? Config, string Device, string Kernels, int? Epochs, long? Seed,
        string? Out, bool Resume, IReadOnlyList<string> Sets, string? RunsCsv, int Threads = 0);

    public static Command Create(TrainingServices services)
    {
        var model = new Option<string?>("--model") { Description = $"Model: {string.Join(", ", ModelNames.All)} (or model.name in --config)" };
        var data = new Option<string?>("--data") { Description = "synthetic, a KuaiRand folder or a table folder (dynrec-table.yaml) (default: synthetic; with --resume, the run's own data)" };
        var config = new Option<string?>("--config") { Description = "YAML overriding the model's shipped defaults (configs/<model>.yaml)" };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var kernels = new Option<string>("--kernels") { Description = "native (fused libdynrec kernels) or reference (pure TorchSharp)", DefaultValueFactory = _ => "native" };
        var epochs = new Option<int?>("--epochs") { Description = "Overrides train.epochs" };
        var seed = new Option<long?>("--seed") { Description = "Overrides train.seed" };
        var output = new Option<string?>("--out") { Description = "Run folder (default runs/<model>-<utc time>)" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint" };
        var sets = new Option<string[]>("--set") { Description = "Override a config key: --set train.lr=0.002 --set model.dropout=0.2", AllowMultipleArgumentsPerToken = false };
        var runsCsv = new Option<string?>("--runs-csv") { Description = "CSV that gets one row per run (default: runs.csv beside the run folder)" };
        var threads = CliThreads.Create();
        var cmd = new Command("train", "Train a model; evaluate on the test split every epoch; keep the best checkpoint")
            { model, data, config, device, kernels, epochs, seed, output, resume, sets, runsCsv, threads };
        cmd.SetAction(pr => Run(new Arguments(pr.GetValue(model), pr.GetValue(data), pr.GetValue(config), pr.GetValue(device)!, pr.GetValue(kernels)!,
            pr.GetValue(epochs), pr.GetValue(seed), pr.GetValue(output), pr.GetValue(resume), pr.GetValue(sets) ?? [], pr.GetValue(runsCsv), pr.GetValue(threads)), services));
        return cmd;
    }

    public static int Run(Arguments a, TrainingServices services)
    {
        var device = TrainingOptionParsing.ParseDevice(a.Device);
        var kernels = TrainingOptionParsing.ParseKernels(a.Kernels);
        if (a.Model != null) ModelNames.Validate(a.Model);
        var overrides = TrainingOptionParsing.Overrides(a.Sets, a.Epochs, a.Seed);
        CliThreads.Apply(a.Threads);

        Checkpoint? resumeFrom = null;
        FeatureEncoding? encoding = null;
        RunConfig config;
        string outDir;
        var dataName = a.Data ?? "synthetic";
        if (a.Resume)
        {
            if (a.Out == null) throw new UserException("--resume needs --out <run folder> (the folder of the run to continue)");
            if (a.Config != null) throw new UserException("--resume continues with the run's saved config; use --set or --epochs to change it, not --config");
            outDir = a.Out;
            var last = new CheckpointStore(Path.Combine(outDir, "checkpoints")).FindLast()
                       ?? throw new UserException($"--resume: no complete checkpoint in {Path.Combine(outDir, "checkpoints")}");
            resumeFrom = CheckpointStore.Load(last);
            if (a.Model != null && a.Model != resumeFrom.Info.Model)
                throw new UserException($"--resume: the checkpoint in {outDir} is of model '{resumeFrom.Info.Model}', not '{a.Model}'");
            config = RunConfig.LoadText(resumeFrom.Info.Model, resumeFrom.Info.ConfigYaml, Path.Combine(last, CheckpointStore.InfoFile), overrides);
            dataName = a.Data ?? resumeFrom.Info.Data ?? "synthetic";
            if (a.Data != null && resumeFrom.Info.Data != null && DataSourceName(a.Data) != resumeFrom.Info.Data)
                Console.WriteLine($"note: resuming on {a.Data}; the run trained on {resumeFrom.Info.Data} so far");
            encoding = TrainedModel.EncodingOf(last);  // the ids the run was trained with, whatever --data holds now
        }
        else
        {
            config = RunConfig.Load(a.Model, a.Config, overrides);
            outDir = a.Out ?? Path.Combine("runs", $"{config.ModelName}-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
            if (new CheckpointStore(Path.Combine(outDir, "checkpoints")).FindLast() != null)
                throw new UserException($"{outDir} already holds a run; pass --resume to continue it or another --out");
        }

        try
        {
            random.manual_seed(config.Train.Seed);
            using var data = services.Load(dataName, encoding);
            var model = services.BuildModel(config.ModelName, data.Schema, config.Model, kernels);
            model.Kernels = kernels;
            model.to(device);
            using var optimizer = Trainer.CreateOptimizer(model, config.Train);
            Directory.CreateDirectory(outDir);
            RunOutputs.WriteConfig(outDir, config);
            Console.WriteLine($"training {config.ModelName} ({kernels.ToString().ToLowerInvariant()} kernels, {device.type.ToString().ToLowerInvariant()}) on {dataName}: " +
                              $"{data.Train.Rows} train rows, {data.Test.Rows} test rows -> {outDir}");
            var store = TrainingServices.StoreFor(outDir, data.Encoding);
            using var signals = new StopSignals("stopping after this step and saving a checkpoint");
            TrainingResult result;
            try
            {
                result = TrainingConsole.WithProgress(config.Train.LogEverySeconds,
                    progress => new Trainer(model, config, optimizer, device, progress) { DataSource = DataSourceName(dataName) }.Fit(data.Train, data.Test, store, resumeFrom, signals.Token));
            }
            catch (TrainingInterruptedException stopped)
            {
                Console.Error.WriteLine($"dynrec: {stopped.Message}" +
                                        (stopped.Checkpoint != null ? $"; continue with: train --resume --out {outDir}" : ""));
                return signals.ExitCode;
            }
            var selection = $"best epoch {result.BestEpoch} by {result.SelectedOn} {config.Train.EarlyStoppingMetric}";
            if (result.SelectedOn == "validation" && result.BestMetrics != null)
                TrainingConsole.PrintMetrics(result.BestMetrics, data,
                    $"validation metrics, {selection}");
            if (result.TestMetrics != null)
                TrainingConsole.PrintMetrics(result.TestMetrics, data,
                    $"test metrics, {selection}");
            else if (result.SelectedOn == "validation")
                Console.WriteLine("the test rows have no labels (an impression log): no test metrics; score them with predict");
            var files = RunOutputs.WriteResults(outDir, config, result, data.Schema, dataName, a.RunsCsv ?? RunOutputs.DefaultRunsCsv(outDir));
            var inRun = files.Where(f => Path.GetDirectoryName(Path.GetFullPath(f)) == Path.GetFullPath(outDir)).ToList();
            Console.WriteLine($"wrote {string.Join(", ", inRun.Select(Path.GetFileName))} and checkpoints/ (best, last) in {outDir}" +
                              string.Concat(files.Except(inRun).Select(f => $"; appended to {f}")));
            return 0;
        }
        finally
        {
            resumeFrom?.Dispose();
        }
    }

    /// <summary>How a checkpoint records --data: "synthetic", or the folder's full path (a resume may run from another directory).</summary>
    private static string DataSourceName(string data) => data == "synthetic" ? data : Path.GetFullPath(data);
}
