using DynRec.Data;
using DynRec.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Layers;

/// <summary>
/// The embedding tables of every categorical field (vocabulary from the schema,
/// row 0 = padding: zero and never updated); the sequence field reads the table
/// of the field whose vocabulary it shares. <see cref="Lookup"/> embeds a batch
/// once and returns an <see cref="EmbeddedBatch"/> the models slice from
/// (per-field blocks, persona subsets, the [B, L, D] sequence, its mean).
///
/// <para>Two backends with identical outputs for identical table values:</para>
/// <para><b>dense</b> (no sparse optimizer): one nn.Embedding per field, named
/// `{field}.weight` directly under this module (a model's field `embeddings`
/// gives `embeddings.user_id.weight`); the tables are ordinary parameters that
/// the dense optimizer updates. With <see cref="Kernels"/> native (the
/// default) the batch is looked up in all of them with one native call
/// (<see cref="TableLookup"/>), which also gives every table its dense
/// gradient in one call; the reference path calls each nn.Embedding.</para>
/// <para><b>table-batched</b> (a <see cref="SparseOptimizerConfig"/> given): ONE
/// fused <see cref="TableBatchedEmbedding"/> registered as `tables` over all
/// sparse fields (bag 1, sum pooling) plus the sequence (bag L, no pooling,
/// sharing its vocabulary field's table). Names: `embeddings.tables.weights`
/// (every table back to back, schema field order) and its optimizer state
/// buffers `embeddings.tables.{exp_avg, exp_avg_sq, adagrad_sum, row_steps, step}`,
/// all in the model's state_dict, so checkpoints carry them. The sparse
/// optimizer updates the touched rows inside backward and leaves
/// `weights.grad` null; dense optimizers must not be given <see cref="FusedParameters"/>.</para>
/// </summary>
public sealed class FeatureEmbeddings : nn.Module<Tensor, Tensor>, IKernelSwitch
{
    private readonly Dictionary<string, Embedding> _tables = new();
    private readonly TableLookup? _lookup;  // the dense backend's one-call lookup (fields, then the sequence)
    private readonly FeatureSchema _schema;
#pragma warning disable IDE1006 // registered under this name
    private readonly TableBatchedEmbedding? tables;
#pragma warning restore IDE1006

    public FeatureEmbeddings(FeatureSchema schema, int dim, SparseOptimizerConfig? sparseOptimizer = null)
        : base(nameof(FeatureEmbeddings))
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), $"emb_dim must be > 0, got {dim}");
        _schema = schema;
        Dim = dim;
        foreach (var field in schema.SparseFields)
            if (field.VocabularySize < 2)
                throw new ArgumentException($"field '{field.Name}': vocabulary size must be >= 2 (0 is padding), got {field.VocabularySize}");
        if (sparseOptimizer is null)
        {
            foreach (var field in schema.SparseFields)
            {
                var table = nn.Embedding(field.VocabularySize, dim, padding_idx: 0);
                InitUniform(table.weight!);
                _tables.Add(field.Name, table);
                register_module(field.Name, table);
            }
            _lookup = new TableLookup(new TableBatchLayout(LookupFields(schema, dim, EmbeddingPooling.None)));
        }
        else
        {
            tables = new TableBatchedEmbedding(LookupFields(schema, dim, EmbeddingPooling.Sum), sparseOptimizer);
            foreach (var field in schema.SparseFields) InitUniform(tables.Table(field.Name));
            register_module("tables", tables);
        }
    }

    // Every sparse field (bag 1, its own table), then the sequence (bag L, no pooling, its vocabulary field's table).
    // The dense backend's fields are unpooled: over tables allocated apart that reads id 0's row as nn.Embedding
    // does (the same columns as a bag-1 sum, which the table-batched backend's zero padding rows keep).
    private static List<EmbeddingFieldConfig> LookupFields(FeatureSchema schema, int dim, EmbeddingPooling fieldPooling)
    {
        var configs = schema.SparseFields.Select(f => new EmbeddingFieldConfig(f.Name, f.VocabularySize, dim, fieldPooling)).ToList();
        if (schema.Sequence is { } seq)
        {
            var shared = schema[seq.SharesVocabularyWith];
            configs.Add(new EmbeddingFieldConfig(seq.Name, shared.VocabularySize, dim, EmbeddingPooling.None,
                seq.MaxLength, SharesTableWith: shared.Name));
        }
        return configs;
    }

    /// <summary>Native: the dense backend's one-call lookup; reference: one nn.Embedding call per field.</summary>
    public Ops.Kernels Kernels { get; set; } = Ops.Kernels.Native;

    // Keras' default (FunRec): uniform(-0.05, 0.05); the padding row stays zero.
    private static void InitUniform(Tensor table)
    {
        using var noGrad = no_grad();
        nn.init.uniform_(table, -0.05, 0.05);
        table[0].zero_();
    }

    public int Dim { get; }

    public FeatureSchema Schema => _schema;

    /// <summary>True when the tables live in one fused table-batched embedding (updated in backward).</summary>
    public bool IsTableBatched => tables is not null;

    /// <summary>Parameters updated by the fused sparse optimizer, which dense optimizers must skip (empty when dense).</summary>
    public IEnumerable<Parameter> FusedParameters => tables is null ? [] : [tables.Weights];

    /// <summary>The [vocabulary, D] table of a sparse field (a view of the live weights in either backend).</summary>
    public Tensor Table(string field) => tables is null
        ? (_tables.TryGetValue(field, out var t) ? t.weight! : throw new KeyNotFoundException($"no embedding field '{field}'"))
        : tables.Table(field);

    /// <summary>Embeds the batch's sparse columns (and its sequence when the schema has one) in one lookup.</summary>
    public EmbeddedBatch Lookup(Batch batch) => Lookup(batch.Sparse, batch.Sequence);

    /// <summary>
    /// Embeds sparse [B, F] (and sequence [B, L] when the schema has one). Each call of a table-batched
    /// backend is one sparse optimizer step in backward, so a model looks its batch up once.
    /// </summary>
    public EmbeddedBatch Lookup(Tensor sparse, Tensor? sequence)
    {
        var f = _schema.SparseFields.Count;
        if (sparse.dim() != 2 || sparse.shape[1] != f)
            throw new ArgumentException($"sparse ids: expected [batch, {f}], got [{string.Join(", ", sparse.shape)}]", nameof(sparse));
        var seq = _schema.Sequence;
        if (seq is not null && sequence is null)
            throw new ArgumentException($"the batch has no sequence but the schema has sequence field '{seq.Name}'", nameof(sequence));
        if (seq is null) sequence = null;
        if (tables is null && Kernels == Ops.Kernels.Reference)
        {
            var fields = cat(_schema.SparseFields.Select((field, c) => _tables[field.Name].forward(sparse.select(1, c))).ToList(), 1);
            var seqEmb = seq is null ? null : _tables[seq.SharesVocabularyWith].forward(sequence!);
            return new EmbeddedBatch(_schema, Dim, fields, seqEmb, sequence);
        }
        if (seq is not null && sequence!.shape[1] != seq.MaxLength)
            throw new ArgumentException($"sequence '{seq.Name}': expected [batch, {seq.MaxLength}], got [{string.Join(", ", sequence.shape)}]", nameof(sequence));
        var ids = sequence is null ? sparse : cat(new[] { sparse, sequence }, 1);
        var output = tables is null
            ? _lookup!.Forward(ids, _schema.SparseFields.Select(field => (Tensor)_tables[field.Name].weight!).ToList())
            : tables.forward(ids.contiguous());
        var width = f * Dim;
        var sequenceEmb = sequence is null ? null : output.narrow(1, width, seq!.MaxLength * Dim).view(-1, seq.MaxLength, Dim);
        return new EmbeddedBatch(_schema, Dim, output.narrow(1, 0, width), sequenceEmb, sequence);
    }

    /// <summary>The sparse columns [B, F] -> all fields concatenated [B, F*D] (a table-batched backend treats the sequence as empty).</summary>
    public override Tensor forward(Tensor sparse)
    {
        var seq = _schema.Sequence;
        var empty = seq is null ? null : zeros(sparse.shape[0], seq.MaxLength, dtype: ScalarType.Int64, device: sparse.device);
        return Lookup(sparse, empty).AllFields;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _lookup?.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>Width of <see cref="EmbeddedBatch.Group"/>'s output.</summary>
    public int GroupWidth(FieldGroup group) => _schema.FieldsIn(group).Length * Dim;

    /// <summary>Width of <see cref="EmbeddedBatch.DnnInput"/>: every field plus the pooled sequence.</summary>
    public int DnnWidth => (_schema.SparseFields.Count + (_schema.Sequence is null ? 0 : 1)) * Dim;
}
