using DynRec.Config;
using DynRec.Data;
using DynRec.Models;
using DynRec.Ops;
using DynRec.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Tests.Training;

/// <summary>
/// A small synthetic split: user, item and tab ids; two tasks whose true
/// probabilities depend on user, item and tab through planted effects.
/// Implements the data seams the trainer uses (and the oracle).
/// </summary>
internal sealed class FakeBatchSource : IBatchSource
{
    public static readonly FeatureSchema DefaultSchema = new(
        [new SparseField("user_id", 41, FieldGroup.User | FieldGroup.Persona), new SparseField("video_id", 31, FieldGroup.Item | FieldGroup.Persona),
         new SparseField("tab", 3, FieldGroup.Scenario)],
        null, ["is_click", "long_view"], "tab", 3);

    private readonly long[] _ids;     // [rows, 3]
    private readonly float[] _labels; // [rows, 2]
    private readonly float[][] _truth;

    private readonly int _days;

    /// <param name="days">Dates the rows span, in consecutive blocks of rows ending on 2022-04-10.</param>
    public FakeBatchSource(int rows, int seed, FeatureSchema? schema = null, int days = 1)
    {
        _days = days;
        Schema = schema ?? DefaultSchema;
        var rng = new Random(seed);
        var planted = new Random(99); // the same ground truth for every split
        var userEffect = Enumerable.Range(0, 41).Select(_ => planted.NextDouble() * 2 - 1).ToArray();
        var itemEffect = Enumerable.Range(0, 31).Select(_ => planted.NextDouble() * 2 - 1).ToArray();
        double[] tabSign = [1, -1, 0.5];
        _ids = new long[rows * 3];
        _labels = new float[rows * 2];
        _truth = [new float[rows], new float[rows]];
        for (var r = 0; r < rows; r++)
        {
            var (u, i, s) = (1 + rng.Next(40), 1 + rng.Next(30), rng.Next(3));
            (_ids[r * 3], _ids[r * 3 + 1], _ids[r * 3 + 2]) = (u, i, s);
            for (var t = 0; t < 2; t++)
            {
                var logit = 1.5 * userEffect[u] + 2 * itemEffect[i] * (t == 0 ? tabSign[s] : 1) - 0.3 * t;
                var p = 1 / (1 + Math.Exp(-logit));
                _truth[t][r] = (float)p;
                _labels[r * 2 + t] = rng.NextDouble() < p ? 1 : 0;
            }
        }
        Rows = rows;
    }

    public FeatureSchema Schema { get; }
    public int Rows { get; }

    public Batch GetBatch(ReadOnlySpan<int> rows, Device? device = null)
    {
        var ids = new long[rows.Length * 3];
        var labels = new float[rows.Length * 2];
        for (var k = 0; k < rows.Length; k++)
        {
            Array.Copy(_ids, rows[k] * 3, ids, k * 3, 3);
            Array.Copy(_labels, rows[k] * 2, labels, k * 2, 2);
        }
        device ??= CPU;
        var sparse = tensor(ids, [rows.Length, 3]).to(device);
        return new Batch(sparse, null, tensor(labels, [rows.Length, 2]).to(device), sparse[.., 2].clone(), sparse[.., 0].clone());
    }

    public float[][]? Oracle => _truth;

    public bool HasLabels => true;

    /// <summary>Raw ids offset from the encoded ones, so a writer that prints encoded ids is caught.</summary>
    public RowKey KeyOf(int row) => new(1000 + _ids[row * 3], 5000 + _ids[row * 3 + 1], 1_649_520_000_000 + row, DateOf(row), 10 * _ids[row * 3 + 2]);

    public int DateOf(int row) => 20220410 - (_days - 1) + (int)((long)row * _days / Rows);
}

/// <summary>Embeddings -> MLP with dropout -> one logit per task: enough to exercise training, dropout RNG and Adam.</summary>
internal sealed class FakeModel : MultiTaskModel
{
    private readonly ModuleList<Embedding> embeddings = new();
    private readonly Linear hidden;
    private readonly Dropout dropout;
    private readonly Linear output;
    private readonly string _name;

    public override DynRec.Models.ModelOptions Options => new DynRec.Models.DnnOptions();

    public FakeModel(string name, FeatureSchema schema, int embDim, double dropoutRate) : base("FakeModel", schema)
    {
        _name = name;
        foreach (var f in schema.SparseFields) embeddings.Add(nn.Embedding(f.VocabularySize, embDim));
        hidden = nn.Linear(embDim * schema.SparseFields.Count, 16);
        dropout = nn.Dropout(dropoutRate);
        output = nn.Linear(16, schema.Tasks.Count);
        RegisterComponents();
    }

    public override string ModelName => _name;

    public override Tensor forward(Batch batch)
    {
        var parts = embeddings.Select((e, i) => e.forward(batch.Sparse[.., i])).ToArray();
        return output.forward(dropout.forward(nn.functional.relu(hidden.forward(cat(parts, 1)))));
    }

    public static ModelBuilder Builder => (name, schema, options, _) => new FakeModel(name, schema, options.Int("emb_dim"), options.Double("dropout"));
}
