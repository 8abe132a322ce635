using DynRec.Data;
using DynRec.Data.Table;
using DynRec.Models;
using DynRec.Ops;
using DynRec.Training;
using DynRec.Training.Checkpointing;
using static TorchSharp.torch;

namespace DynRec.Serving;

/// <summary>
/// Scores requests online for a model trained on a table folder: the checkpoint's model, loaded once,
/// and its encoding. A request (<see cref="TableRequest"/>) gives each candidate's cells by the table's
/// column names; they are encoded as the table loader encodes a CSV row, so a request built from a row
/// scores what `predict` writes for it. No data folder is needed; given a table folder with a user or item
/// table (<c>user_table</c>, <c>item_table</c>), the features a request leaves out are looked up there by its
/// user or item id, as the loader joins them. From .NET:
/// <code>
/// using var scorer = TableScorer.Open("runs/pepnet-1");
/// var p = scorer.Score(new TableRequest
/// {
///     Context = new Dictionary&lt;string, string?&gt; { ["user_id"] = "u7", ["domain"] = "home", ["device"] = "ios" },
///     Candidates = [new Dictionary&lt;string, string?&gt; { ["item_id"] = "sku-1", ["price"] = "10.5" }],
/// });
/// // p[task][candidate], tasks in scorer.Tasks order
/// </code>
/// Calls are serialized by a lock, so one scorer may be shared by threads.
/// </summary>
public sealed class TableScorer : IDisposable
{
    private readonly TrainedModel _trained;
    private readonly TableRowEncoder _encoder;
    private readonly Device _device;
    private readonly object _gate = new();

    private TableScorer(TrainedModel trained, TableRowEncoder encoder, Device device)
    {
        _trained = trained;
        _encoder = encoder;
        _device = device;
    }

    /// <summary>Loads <paramref name="checkpoint"/> (a run folder or anything <see cref="CheckpointStore.Resolve"/> takes).</summary>
    /// <param name="tables">a table folder whose user and item tables fill the features a request leaves out (null: none).</param>
    public static TableScorer Open(string checkpoint, Device? device = null, Kernels kernels = Kernels.Native, ModelBuilder? build = null,
        string? tables = null) =>
        From(TrainedModel.Load(checkpoint, device, kernels, build), device, tables);

    /// <summary>A scorer of an already loaded checkpoint (on <paramref name="device"/>); it owns and disposes <paramref name="trained"/>.</summary>
    /// <param name="tables">a table folder whose user and item tables fill the features a request leaves out (null: none).</param>
    public static TableScorer From(TrainedModel trained, Device? device = null, string? tables = null)
    {
        try
        {
            var encoding = trained.Encoding ?? throw new InvalidDataException(
                $"checkpoint {trained.Directory} has no {FeatureEncoding.FileName} (written before encodings were saved); requests cannot be encoded");
            if (encoding.Format != DataFormat.Table)
                throw new InvalidDataException($"checkpoint {trained.Directory} was trained on KuaiRand-format data; score it with {nameof(Scorer)}");
            return new TableScorer(trained, new TableRowEncoder(trained.Model.Schema, encoding, tables == null ? null : ReadTables(tables)), device ?? CPU);
        }
        catch
        {
            trained.Dispose();
            throw;
        }
    }

    /// <summary>The user and item tables of a table folder (<see cref="TableSchema.UserTable"/>, <see cref="TableSchema.ItemTable"/>).</summary>
    private static List<TableSideTable> ReadTables(string folder)
    {
        var path = TableSchema.FileIn(folder)
            ?? throw new DataFormatException(folder, 0, null, $"not a table folder (no {TableSchema.FileName}); its user and item tables are read to fill requests");
        var schema = TableSchema.Read(path);
        var tables = new[]
        {
            TableSideTable.Read("user", schema.User, schema.UserTable, schema.UserFeatures, schema.Numeric),
            TableSideTable.Read("item", schema.Item ?? "item", schema.ItemTable, schema.ItemFeatures, schema.Numeric),
        }.OfType<TableSideTable>().ToList();
        return tables.Count > 0 ? tables
            : throw new DataFormatException(path, 0, null, "the schema names no user_table or item_table, so there is nothing to look features up in");
    }

    /// <summary>The click history the model reads (<see cref="TableRequest.History"/>: name, item field, length), or null.</summary>
    public SequenceField? History => _encoder.History;

    /// <summary>The columns the tables given to Open can fill when a request leaves them out ("user: age, gender"); empty without tables.</summary>
    public IEnumerable<string> TableColumns => _encoder.TableColumns;

    /// <summary>Rows (candidates) per forward pass; more are scored in several passes.</summary>
    public int MaxBatchRows
    {
        get => _maxBatchRows;
        set => _maxBatchRows = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"MaxBatchRows must be >= 1, got {value}");
    }
    private int _maxBatchRows = 8192;

    /// <summary>Task names, the first index of every result.</summary>
    public IReadOnlyList<string> Tasks => _trained.Model.Schema.Tasks;

    /// <summary>The columns every candidate needs (from its context, itself or the tables), in the model's field order.</summary>
    public IReadOnlyList<string> Columns => _encoder.Columns;

    /// <summary>The loaded checkpoint (model, config, sidecar).</summary>
    public TrainedModel Trained => _trained;

    /// <summary>What is wrong with a request (an unknown or missing column, a cell that is not a number, an unknown scenario), or null.</summary>
    public string? Problem(TableRequest? request)
    {
        if (request == null) return "the request is null";
        try
        {
            _encoder.Encode(request);
            _encoder.EncodeHistory(request);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    /// <summary>One request's probabilities, [task][candidate]; a malformed request is an ArgumentException saying why.</summary>
    public float[][] Score(TableRequest request) => Score([request])[0];

    /// <summary>
    /// Every request's probabilities ([request][task][candidate]), the candidates of all requests batched
    /// together. A malformed request is an ArgumentException naming its index; nothing is scored then.
    /// </summary>
    public IReadOnlyList<float[][]> Score(IReadOnlyList<TableRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var encoded = new (long[] Ids, long[] Scenarios, long[]? History)[requests.Count];
        for (var i = 0; i < requests.Count; i++)
        {
            try
            {
                var request = requests[i] ?? throw new ArgumentException("the request is null");
                var (ids, scenarios) = _encoder.Encode(request);
                encoded[i] = (ids, scenarios, _encoder.EncodeHistory(request));
            }
            catch (ArgumentException e) { throw new ArgumentException($"request {i}: {e.Message}", e); }
        }
        lock (_gate)
            return ModelScoring.InPasses(encoded.Select(e => e.Scenarios.Length).ToArray(), Tasks.Count, MaxBatchRows, rows => Forward(encoded, rows));
    }

    private float[] Forward((long[] Ids, long[] Scenarios, long[]? History)[] encoded, ReadOnlySpan<(int Request, int Candidate)> rows)
    {
        int b = rows.Length, f = Columns.Count, len = _encoder.History?.MaxLength ?? 0;
        var sparse = new long[(long)b * f];
        var scenario = new long[b];
        var history = len == 0 ? null : new long[(long)b * len];
        for (var k = 0; k < b; k++)
        {
            var (request, candidate) = rows[k];
            encoded[request].Ids.AsSpan(candidate * f, f).CopyTo(sparse.AsSpan(k * f, f));
            scenario[k] = encoded[request].Scenarios[candidate];
            encoded[request].History?.CopyTo(history.AsSpan(k * len, len));  // the user's, shared by every candidate
        }
        return ModelScoring.Probabilities(_trained.Model, _device, b, sparse, history, scenario, new long[b]);
    }

    public void Dispose() => _trained.Dispose();
}
