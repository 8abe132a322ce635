using System.Text.Json;
using System.Text.Json.Serialization;
using DynRec.Data;

namespace DynRec.Training.Checkpointing;

/// <summary>
/// checkpoint.json, the sidecar of a checkpoint: which model with which
/// config and feature vocabulary, where training stood (epoch, step, early
/// stopping), how to resume the random streams (seed + epochs already
/// shuffled; the torch generator state lives in training_state.safetensors),
/// and the history of evaluated epochs.
/// </summary>
public sealed record CheckpointInfo
{
    public const string CurrentFormat = "dynrec-checkpoint/1";

    public string Format { get; init; } = CurrentFormat;
    public required string Model { get; init; }
    /// <summary>The effective run config as YAML (RunConfig.ToYaml()).</summary>
    public required string ConfigYaml { get; init; }
    public required SchemaInfo Schema { get; init; }
    /// <summary>Epochs completed.</summary>
    public required int Epoch { get; init; }
    /// <summary>Optimizer steps taken in the whole run.</summary>
    public required long Step { get; init; }
    /// <summary>Set on a mid-epoch checkpoint (train.checkpoint_every_steps): where in epoch <see cref="Epoch"/> + 1 training stood.</summary>
    public EpochProgress? InProgress { get; init; }
    public required string Optimizer { get; init; }
    public required RngInfo Rng { get; init; }
    public required EarlyStoppingInfo EarlyStopping { get; init; }
    public required List<EpochRecord> History { get; init; }
    public string Kernels { get; init; } = "";
    /// <summary>The data the run trains on ("synthetic" or a folder's full path; null in older checkpoints): `train --resume` reads it again.</summary>
    public string? Data { get; init; }
    /// <summary>train.validation_days of the run: the training dates held out for validation (0 in older checkpoints).</summary>
    public int ValidationDays { get; init; }
    public string CreatedUtc { get; init; } = DateTime.UtcNow.ToString("O");

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        // A damaged sidecar fails here, naming the member, instead of as a null deep inside eval or resume.
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static CheckpointInfo FromJson(string json, string source)
    {
        CheckpointInfo? info;
        try
        {
            info = JsonSerializer.Deserialize<CheckpointInfo>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: not a valid checkpoint sidecar: {e.Message}");
        }
        if (info == null) throw new InvalidDataException($"{source}: empty checkpoint sidecar");
        // RespectNullableAnnotations does not reach list elements.
        if (info.Schema.SparseFields.Contains(null!) || info.Schema.Tasks.Contains(null!) || info.History.Contains(null!))
            throw new InvalidDataException($"{source}: not a valid checkpoint sidecar: a null entry in schema.sparse_fields, schema.tasks or history");
        if (info.Format != CurrentFormat) throw new InvalidDataException($"{source}: checkpoint format '{info.Format}', this build reads '{CurrentFormat}'");
        return info;
    }
}

/// <summary>
/// The random streams' position: epoch e's row order and dropout generator are both seeded from (seed, e)
/// (EpochPermutation), so resuming needs only the seed and the number of epochs completed.
/// </summary>
public sealed record RngInfo(long Seed, int EpochsCompleted);

/// <summary>
/// A partly trained epoch: its number, the rows of its permutation already trained on, and its running loss
/// (sum of per-row loss, rows counted), so the resumed epoch continues at that row and reports the same mean.
/// </summary>
public sealed record EpochProgress(int Epoch, long RowsDone, double LossSum, long LossRows);

public sealed record EarlyStoppingInfo(string Metric, double? BestValue, int BestEpoch, int EvalsWithoutImprovement);

/// <summary>The feature schema as stored: enough to rebuild the model and to check that data matches it.</summary>
public sealed record SchemaInfo(List<SparseFieldInfo> SparseFields, SequenceFieldInfo? Sequence, List<string> Tasks, string ScenarioField, int ScenarioCount)
{
    public static SchemaInfo From(FeatureSchema s) => new(
        s.SparseFields.Select(f => new SparseFieldInfo(f.Name, f.VocabularySize, f.Groups.ToString())).ToList(),
        s.Sequence is { } q ? new SequenceFieldInfo(q.Name, q.SharesVocabularyWith, q.MaxLength) : null,
        s.Tasks.ToList(), s.ScenarioField, s.ScenarioCount);

    public FeatureSchema ToSchema() => new(
        SparseFields.Select(f => new SparseField(f.Name, f.VocabularySize, Enum.Parse<FieldGroup>(f.Groups))).ToList(),
        Sequence is { } q ? new SequenceField(q.Name, q.SharesVocabularyWith, q.MaxLength) : null,
        Tasks, ScenarioField, ScenarioCount);

    /// <summary>Null when <paramref name="data"/> matches this schema, else the first difference in words.</summary>
    public string? Difference(FeatureSchema data)
    {
        var other = From(data);
        if (!Tasks.SequenceEqual(other.Tasks)) return $"tasks differ: checkpoint [{string.Join(", ", Tasks)}], data [{string.Join(", ", other.Tasks)}]";
        if (ScenarioCount != other.ScenarioCount) return $"scenario count differs: checkpoint {ScenarioCount}, data {other.ScenarioCount}";
        if (SparseFields.Count != other.SparseFields.Count) return $"field count differs: checkpoint {SparseFields.Count}, data {other.SparseFields.Count}";
        for (var i = 0; i < SparseFields.Count; i++)
            if (SparseFields[i] != other.SparseFields[i])
                return $"field {i} differs: checkpoint {Describe(SparseFields[i])}, data {Describe(other.SparseFields[i])}";
        if (Sequence != other.Sequence) return "sequence field differs";
        return null;
    }

    private static string Describe(SparseFieldInfo f) => $"{f.Name} (vocabulary {f.VocabularySize}, groups {f.Groups})";
}

public sealed record SparseFieldInfo(string Name, int VocabularySize, string Groups);

public sealed record SequenceFieldInfo(string Name, string SharesVocabularyWith, int MaxLength);
