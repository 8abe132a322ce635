using DynRec.Data;
using DynRec.Data.KuaiRand;
using DynRec.Models;
using DynRec.Ops;
using DynRec.Training;
using DynRec.Training.Checkpointing;
using static TorchSharp.torch;

namespace DynRec.Serving;

/// <summary>
/// Scores requests online: a checkpoint's model, loaded once, plus the side
/// tables of a KuaiRand folder encoded with the checkpoint's encoding. Each
/// request (a user in a context with candidate videos) is encoded exactly as
/// the preprocessor encodes a log row, so a request built from a row scores
/// what `predict` writes for it; no log is read. From .NET:
/// <code>
/// using var scorer = Scorer.Open("runs/pepnet-1", "data/KuaiRand-Pure/data");
/// var p = scorer.Score(new ScoreRequest { UserId = 10, Tab = 1, HourMin = 1530, VideoIds = [100, 200] });
/// // p[task][candidate], tasks in scorer.Tasks order
/// </code>
/// Calls are serialized by a lock, so one scorer may be shared by threads.
/// </summary>
public sealed class Scorer : IDisposable
{
    private readonly TrainedModel _trained;
    private readonly KuaiRandEntityFeatures _features;
    private readonly Device _device;
    private readonly int _tabPosition, _hourPosition, _isRandPosition;
    private readonly object _gate = new();

    private Scorer(TrainedModel trained, KuaiRandEntityFeatures features, Device device)
    {
        _trained = trained;
        _features = features;
        _device = device;
        var schema = trained.Model.Schema;
        (_tabPosition, _hourPosition, _isRandPosition) = (schema.IndexOf("tab"), schema.IndexOf("hour"), schema.IndexOf("is_rand"));
        foreach (var p in features.ContextPositions)
            if (p != _tabPosition && p != _hourPosition && p != _isRandPosition)
                throw new InvalidDataException($"the model's field '{schema.SparseFields[p].Name}' is not a KuaiRand context field (tab, hour, is_rand)");
        if (_tabPosition < 0 || schema.ScenarioField != "tab" || schema.ScenarioCount != KuaiRandColumns.KeptTabs.Length)
            throw new InvalidDataException("the model's scenario field is not KuaiRand's tab");
    }

    /// <summary>Rows (candidates) per forward pass; more are scored in several passes.</summary>
    public int MaxBatchRows
    {
        get => _maxBatchRows;
        set => _maxBatchRows = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"MaxBatchRows must be >= 1, got {value}");
    }
    private int _maxBatchRows = 8192;

    /// <summary>Task names, the first index of every result.</summary>
    public IReadOnlyList<string> Tasks => _trained.Model.Schema.Tasks;

    /// <summary>The loaded checkpoint (model, config, sidecar).</summary>
    public TrainedModel Trained => _trained;

    /// <summary>
    /// Loads <paramref name="checkpoint"/> (a run folder or anything <see cref="CheckpointStore.Resolve"/> takes) and the
    /// side tables of <paramref name="featureFolder"/> (user_features, video_features_basic, and the statistics when the
    /// model uses them). The checkpoint must carry its encoding.json.
    /// </summary>
    public static Scorer Open(string checkpoint, string featureFolder, Device? device = null, Kernels kernels = Kernels.Native,
        ModelBuilder? build = null)
        => From(TrainedModel.Load(checkpoint, device, kernels, build), featureFolder, device);

    /// <summary>A scorer of an already loaded checkpoint (on <paramref name="device"/>); it owns and disposes <paramref name="trained"/>.</summary>
    public static Scorer From(TrainedModel trained, string featureFolder, Device? device = null)
    {
        try
        {
            var encoding = trained.Encoding ?? throw new InvalidDataException(
                $"checkpoint {trained.Directory} has no {FeatureEncoding.FileName} (written before encodings were saved); requests cannot be encoded");
            var features = KuaiRandEntityFeatures.Load(featureFolder, trained.Model.Schema, encoding);
            return new Scorer(trained, features, device ?? CPU);
        }
        catch
        {
            trained.Dispose();
            throw;
        }
    }

    /// <summary>One request's probabilities, [task][candidate]; a malformed request is an ArgumentException saying why.</summary>
    public float[][] Score(ScoreRequest request)
    {
        if (Problem(request) is { } problem) throw new ArgumentException($"the request {problem}");
        return Score([request])[0];
    }

    /// <summary>
    /// Every request's probabilities ([request][task][candidate]), the candidates of all requests batched
    /// together. A malformed request is an ArgumentException naming its index; nothing is scored then.
    /// </summary>
    public IReadOnlyList<float[][]> Score(IReadOnlyList<ScoreRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        for (var i = 0; i < requests.Count; i++)
            if (Problem(requests[i]) is { } problem) throw new ArgumentException($"request {i} {problem}");
        lock (_gate)
            return ModelScoring.InPasses(requests.Select(r => r.VideoIds.Count).ToArray(), Tasks.Count, MaxBatchRows, rows => Forward(requests, rows));
    }

    /// <summary>What is wrong with a request ("has no video_ids", "tab 3 is not a scenario ..."), or null when it can be scored.</summary>
    public static string? Problem(ScoreRequest? r) => r switch
    {
        null => "is null",
        { VideoIds: null } => "has no video_ids",
        { RecentClicks: null } => "has null recent_clicks (use an empty list)",
        _ when Array.IndexOf(KuaiRandColumns.KeptTabs, r.Tab) < 0 =>
            $"tab {r.Tab} is not a scenario of this model; valid tabs: {string.Join(", ", KuaiRandColumns.KeptTabs)}",
        _ when r.HourMin is < 0 or > 2359 || r.HourMin % 100 > 59 => $"hourmin {r.HourMin} is not a time of day HHMM",
        _ when r.IsRand is not (0 or 1) => $"is_rand must be 0 or 1, got {r.IsRand}",
        _ => null,
    };

    /// <summary>Probabilities of the given rows, row-major [rows, tasks].</summary>
    private float[] Forward(IReadOnlyList<ScoreRequest> requests, ReadOnlySpan<(int Request, int Candidate)> rows)
    {
        var schema = _trained.Model.Schema;
        int b = rows.Length, f = schema.SparseFields.Count, len = schema.Sequence?.MaxLength ?? 0;
        var sparse = new long[(long)b * f];
        var sequence = new long[(long)b * len];
        var scenario = new long[b];
        var users = new long[b];
        for (var k = 0; k < b; k++)
        {
            var request = requests[rows[k].Request];
            var row = sparse.AsSpan(k * f, f);
            _features.WriteUser(request.UserId, row);
            _features.WriteItem(request.VideoIds[rows[k].Candidate], row);
            scenario[k] = Array.IndexOf(KuaiRandColumns.KeptTabs, request.Tab);
            row[_tabPosition] = scenario[k] + 1;
            if (_hourPosition >= 0) row[_hourPosition] = request.HourMin / 100 + 1;
            if (_isRandPosition >= 0) row[_isRandPosition] = request.IsRand + 1;
            users[k] = _features.UserId(request.UserId);
            var clicks = request.RecentClicks;
            for (var j = 0; j < len && j < clicks.Count; j++) sequence[(long)k * len + j] = _features.VideoId(clicks[j]);
        }
        return ModelScoring.Probabilities(_trained.Model, _device, b, sparse, sequence, scenario, users);
    }

    public void Dispose() => _trained.Dispose();
}
