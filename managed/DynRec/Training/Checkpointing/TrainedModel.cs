using DynRec.Checkpoints;
using DynRec.Config;
using DynRec.Data;
using DynRec.Models;
using DynRec.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Training.Checkpointing;

/// <summary>
/// A trained model read back from a checkpoint, ready to score: the model
/// (rebuilt from the checkpoint's config and schema, weights loaded, eval
/// mode, on the device), the run config, the sidecar, and the feature
/// encoding to load data with (null for a checkpoint written before
/// encodings were saved). What `dynrec eval` / `predict` use; from .NET:
/// <code>
/// using var trained = TrainedModel.Load("runs/pepnet-1");
/// var split = DataSource.Load(folder, trained.DataOptions());
/// trained.CheckData(split.Schema);
/// var p = Evaluator.Predict(trained.Model, split.Test, 8192, CPU);
/// </code>
/// </summary>
public sealed class TrainedModel : IDisposable
{
    private TrainedModel(string directory, MultiTaskModel model, RunConfig config, CheckpointInfo info, FeatureEncoding? encoding)
    {
        Directory = directory;
        Model = model;
        Config = config;
        Info = info;
        Encoding = encoding;
    }

    /// <summary>The checkpoint folder it was read from.</summary>
    public string Directory { get; }
    public MultiTaskModel Model { get; }
    public RunConfig Config { get; }
    public CheckpointInfo Info { get; }
    public FeatureEncoding? Encoding { get; }

    /// <summary>
    /// Reads a checkpoint (anything <see cref="CheckpointStore.Resolve"/> accepts: a run folder, its
    /// checkpoints/ folder, a best/last pointer or a checkpoint folder). <paramref name="build"/> defaults to
    /// <see cref="ModelFactory.Create(string, FeatureSchema, ModelSection, Kernels)"/>.
    /// </summary>
    public static TrainedModel Load(string checkpointPath, Device? device = null, Kernels kernels = Kernels.Native, ModelBuilder? build = null)
    {
        var dir = CheckpointStore.Resolve(checkpointPath);
        using var checkpoint = CheckpointStore.Load(dir);
        var info = checkpoint.Info;
        var config = RunConfig.FromYaml(info.ConfigYaml, Path.Combine(dir, CheckpointStore.InfoFile));
        var encoding = EncodingOf(dir);
        build ??= ModelFactory.Create;
        var model = build(config.ModelName, info.Schema.ToSchema(), config.Model, kernels);
        try
        {
            model.Kernels = kernels;
            ModelWeights.Load(model, checkpoint.Weights, Path.Combine(dir, CheckpointStore.ModelFile));
            model.to(device ?? CPU);
            model.eval();
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return new TrainedModel(dir, model, config, info, encoding);
    }

    /// <summary>
    /// The feature encoding saved in a checkpoint folder (encoding.json); null for a checkpoint written
    /// before encodings were saved.
    /// </summary>
    public static FeatureEncoding? EncodingOf(string checkpointDirectory)
    {
        var path = Path.Combine(checkpointDirectory, FeatureEncoding.FileName);
        return File.Exists(path) ? FeatureEncoding.Read(path) : null;
    }

    /// <summary>Load options that encode data as the training data was (<paramref name="options"/>' other settings kept).</summary>
    public LoadOptions DataOptions(LoadOptions? options = null) => (options ?? new LoadOptions()) with { Encoding = Encoding };

    /// <summary>Throws InvalidDataException naming the first difference when data of <paramref name="schema"/> does not fit the model.</summary>
    public void CheckData(FeatureSchema schema)
    {
        if (Info.Schema.Difference(schema) is { } diff)
            throw new InvalidDataException($"checkpoint {Directory} was trained on other data: {diff}");
    }

    public void Dispose() => Model.Dispose();
}
