using DynRec.Checkpoints;
using DynRec.Config;
using DynRec.Data;
using DynRec.Models;
using DynRec.Training;
using DynRec.Training.Checkpointing;
using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Cli.Commands;

/// <summary>What the train/eval/predict/bench commands ask of the data layer.</summary>
/// <param name="Data">"synthetic", a KuaiRand folder or a table folder (already checked to exist).</param>
/// <param name="Encoding">encode with this (a checkpoint's) instead of learning from the data's train rows.</param>
public sealed record DataRequest(string Data, FeatureEncoding? Encoding = null);

/// <summary>A loaded data set: its schema and the train/test splits (the test split is the last date).</summary>
public sealed class LoadedData(FeatureSchema schema, IBatchSource train, IBatchSource test, IDisposable? owner = null,
    FeatureEncoding? encoding = null, KeyColumns? keyColumns = null, IReadOnlyList<string>? scenarioValues = null) : IDisposable
{
    public FeatureSchema Schema { get; } = schema;

    /// <summary>The raw scenario value of each scenario index (KuaiRand's tab, a table's scenario column), when known.</summary>
    public IReadOnlyList<string>? ScenarioValues { get; } = scenarioValues;

    /// <summary>The source data's names for a row's key parts (predictions' key columns).</summary>
    public KeyColumns KeyColumns { get; } = keyColumns ?? KeyColumns.KuaiRand;

    /// <summary>The encoding the ids were made with (saved with every checkpoint); null when the source has none.</summary>
    public FeatureEncoding? Encoding { get; } = encoding;
    public IBatchSource Train { get; } = train;
    public IBatchSource Test { get; } = test;

    /// <summary>
    /// A split by name. For a run with <paramref name="validationDays"/> (train.validation_days of its checkpoint)
    /// "train" is the rows it was fitted on and "validation" the held-out last dates; else "train" is all training rows.
    /// </summary>
    public IBatchSource Split(string name, int validationDays = 0)
    {
        if (name == "test") return Test;
        if (name is not ("train" or "validation")) throw new UserException($"unknown split '{name}'; valid: {SplitNames}");
        if (validationDays == 0)
            return name == "train" ? Train : throw new UserException("--split validation: this checkpoint's run had no validation split (train.validation_days 0)");
        var split = ValidationSplit.ByLastDates(Train, validationDays);
        return name == "train" ? split.Fit : split.Validation;
    }

    public const string SplitNames = "test, validation, train";

    public void Dispose() => owner?.Dispose();
}

/// <summary>
/// The seams between the CLI and the data/model layers. <see cref="Default"/>
/// is what `dynrec` uses; tests pass fakes. The data loader (DynRec.Data) and
/// the model factory (DynRec.Models) plug in here and nowhere else.
/// </summary>
public sealed class TrainingServices
{
    public required Func<DataRequest, LoadedData> LoadData { get; init; }
    public required ModelBuilder BuildModel { get; init; }

    /// <summary>
    /// The services the `dynrec` executable uses. Until the data loader and the model factory are connected,
    /// a command that needs them says so in one line. Connecting them (Program.cs, before the commands are created):
    /// <code>
    /// TrainingServices.Default = new TrainingServices
    /// {
    ///     LoadData = request => { var split = DataSource.Load(request.Data); return new LoadedData(split.Schema, split.Train, split.Test); },
    ///     BuildModel = ModelFactory.Create,   // ModelSection enumerates as the factory's key/value options
    /// };
    /// </code>
    /// with DynRec.Data.Dataset declared `: DynRec.Training.IBatchSource` (it already has the members).
    /// </summary>
    public static TrainingServices Default { get; set; } = new()
    {
        LoadData = _ => throw new NotSupportedException("this build has no data loader connected (DynRec.Data); train/eval/predict/bench are unavailable"),
        BuildModel = (name, _, _, _) => throw new NotSupportedException($"this build has no model factory connected (DynRec.Models); cannot build '{name}'"),
    };

    /// <summary>Loads --data after checking the folder exists (a user error otherwise).</summary>
    public LoadedData Load(string data, FeatureEncoding? encoding = null)
    {
        if (string.IsNullOrWhiteSpace(data))
            throw new UserException("--data is required: 'synthetic', a KuaiRand folder or a table folder");
        if (data != "synthetic" && !Directory.Exists(data))
            throw new UserException($"data folder not found: {data}; pass --data synthetic, a KuaiRand folder (log_standard_*.csv, user_features_*.csv, video_features_basic_*.csv) or a table folder ({DynRec.Data.Table.TableSchema.FileName} and its CSV files)");
        return LoadData(new DataRequest(data, encoding));
    }

    /// <summary>The checkpoint store of a run, carrying the data's encoding in every checkpoint.</summary>
    public static CheckpointStore StoreFor(string runDirectory, FeatureEncoding? encoding) => new(Path.Combine(runDirectory, "checkpoints"))
    {
        AttachedFiles = encoding == null
            ? new Dictionary<string, string>()
            : new Dictionary<string, string> { [FeatureEncoding.FileName] = encoding.ToJson() },
    };

    /// <summary>
    /// The option checks eval and predict share, all before any data is loaded: device, kernels, a batch size
    /// >= 1, a known split, and --checkpoint / --model (<see cref="CheckCheckpoint"/>).
    /// </summary>
    public static (Device Device, Ops.Kernels Kernels) CheckInferenceOptions(string deviceText, string kernelsText, int batchSize,
        string split, string checkpointPath, string? expectedModel)
    {
        var device = TrainingOptionParsing.ParseDevice(deviceText);
        var kernels = TrainingOptionParsing.ParseKernels(kernelsText);
        if (batchSize < 1) throw new UserException($"--batch-size must be >= 1, got {batchSize}");
        if (split is not ("test" or "train" or "validation")) throw new UserException($"--split: unknown split '{split}'; valid: {LoadedData.SplitNames}");
        CheckCheckpoint(checkpointPath, expectedModel);
        return (device, kernels);
    }

    /// <summary>
    /// Resolves --checkpoint and checks --model against it, before any data is loaded: a wrong path or model
    /// fails fast. Returns the checkpoint directory.
    /// </summary>
    public static string CheckCheckpoint(string checkpointPath, string? expectedModel)
    {
        var dir = CheckpointStore.Resolve(checkpointPath);
        var sidecar = Path.Combine(dir, CheckpointStore.InfoFile);
        var info = CheckpointInfo.FromJson(File.ReadAllText(sidecar), sidecar);
        if (expectedModel != null && expectedModel != info.Model)
            throw new UserException($"--checkpoint {checkpointPath} holds a '{info.Model}' model, not '{ModelNames.Validate(expectedModel)}'");
        return dir;
    }

    /// <summary>
    /// Reads a checkpoint's model (and the encoding to load data with); --model, when given, must name
    /// the checkpoint's model. Check the loaded data with <see cref="CheckData"/>.
    /// </summary>
    public TrainedModel LoadTrained(string checkpointPath, string? expectedModel, Device device, Ops.Kernels kernels)
    {
        CheckCheckpoint(checkpointPath, expectedModel);
        return TrainedModel.Load(checkpointPath, device, kernels, BuildModel);
    }

    /// <summary>A user error when <paramref name="data"/> does not have the schema the checkpoint was trained on.</summary>
    public static void CheckData(TrainedModel trained, string checkpointPath, FeatureSchema data)
    {
        if (trained.Info.Schema.Difference(data) is { } diff)
            throw new UserException($"--checkpoint {checkpointPath} was trained on other data: {diff}");
    }
}

/// <summary>Parsing of the options shared by the training commands.</summary>
public static class TrainingOptionParsing
{
    public static Device ParseDevice(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        if (t == "cpu") return CPU;
        if (t == "cuda" || t.StartsWith("cuda:", StringComparison.Ordinal))
        {
            var index = 0;
            if (t.Length > 5 && !int.TryParse(t[5..], out index))
                throw new UserException($"--device: '{text}' is not a device; valid: cpu, cuda, cuda:N");
            if (!cuda.is_available())
                throw new UserException($"--device {text}: CUDA was requested but TorchSharp sees no GPU (torch.cuda.is_available() is false); use --device cpu");
            if (index >= cuda.device_count())
                throw new UserException($"--device {text}: there are {cuda.device_count()} CUDA device(s)");
            return new Device(TorchSharp.DeviceType.CUDA, index);
        }
        throw new UserException($"--device: unknown device '{text}'; valid: cpu, cuda, cuda:N");
    }

    public static Ops.Kernels ParseKernels(string text) => text.Trim().ToLowerInvariant() switch
    {
        "native" => Ops.Kernels.Native,
        "reference" => Ops.Kernels.Reference,
        _ => throw new UserException($"--kernels: unknown kernels '{text}'; valid: native, reference"),
    };

    /// <summary>--set values plus the first-class options, as overrides in the order they apply.</summary>
    public static List<string> Overrides(IEnumerable<string>? sets, int? epochs, long? seed)
    {
        var list = (sets ?? []).ToList();
        if (epochs is { } e) list.Add($"train.epochs={e}");
        if (seed is { } s) list.Add($"train.seed={s}");
        return list;
    }
}
