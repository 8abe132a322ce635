using DynRec.Data;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Layers;

/// <summary>
/// One embedding table per categorical field (vocabulary from the schema,
/// row 0 = padding: zero and never updated), named `{field}.weight`. The
/// sequence field looks up the table of the field whose vocabulary it shares.
/// Lookups return [B, D] per field; groups are concatenated in column order.
/// The tables are registered directly under the field names (no container
/// level), so a model's field `embeddings` gives `embeddings.user_id.weight`.
/// </summary>
public sealed class FeatureEmbeddings : nn.Module<Tensor, Tensor>
{
    private readonly Dictionary<string, Embedding> _tables = new();
    private readonly FeatureSchema _schema;

    public FeatureEmbeddings(FeatureSchema schema, int dim) : base(nameof(FeatureEmbeddings))
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), $"emb_dim must be > 0, got {dim}");
        _schema = schema;
        Dim = dim;
        foreach (var field in schema.SparseFields)
        {
            if (field.VocabularySize < 2)
                throw new ArgumentException($"field '{field.Name}': vocabulary size must be >= 2 (0 is padding), got {field.VocabularySize}");
            var table = nn.Embedding(field.VocabularySize, dim, padding_idx: 0);
            using (no_grad())
            {
                // Keras' default (FunRec): uniform(-0.05, 0.05); the padding row stays zero.
                nn.init.uniform_(table.weight!, -0.05, 0.05);
                table.weight![0].zero_();
            }
            _tables.Add(field.Name, table);
            register_module(field.Name, table);
        }
    }

    public int Dim { get; }

    public FeatureSchema Schema => _schema;

    /// <summary>The sparse columns [B, F] -> all fields concatenated [B, F*D].</summary>
    public override Tensor forward(Tensor sparse) => Fields(sparse, Enumerable.Range(0, _schema.SparseFields.Count));

    /// <summary>Embedding of one column [B, D].</summary>
    public Tensor Field(Tensor sparse, int column) =>
        _tables[_schema.SparseFields[column].Name].forward(sparse[.., column]);

    /// <summary>The given columns' embeddings concatenated: [B, n*D].</summary>
    public Tensor Fields(Tensor sparse, IEnumerable<int> columns)
    {
        var parts = columns.Select(c => Field(sparse, c)).ToList();
        if (parts.Count == 0) throw new ArgumentException("no fields selected");
        return parts.Count == 1 ? parts[0] : cat(parts, 1);
    }

    /// <summary>The mean of the given columns' embeddings: [B, D].</summary>
    public Tensor FieldsMean(Tensor sparse, IReadOnlyCollection<int> columns)
    {
        if (columns.Count == 0) throw new ArgumentException("no fields selected");
        return stack(columns.Select(c => Field(sparse, c)), 1).mean(new long[] { 1 });
    }

    /// <summary>The fields of a group concatenated; throws naming the group when it is empty.</summary>
    public Tensor Group(Tensor sparse, FieldGroup group)
    {
        var columns = _schema.FieldsIn(group);
        if (columns.Length == 0) throw new ArgumentException($"the feature schema has no field in group {group}");
        return Fields(sparse, columns);
    }

    /// <summary>Width of <see cref="Group"/>'s output.</summary>
    public int GroupWidth(FieldGroup group) => _schema.FieldsIn(group).Length * Dim;

    /// <summary>
    /// The DNN part's input: every field's embedding concatenated, then the
    /// mean-pooled sequence when the schema has one: [B, <see cref="DnnWidth"/>].
    /// </summary>
    public Tensor DnnInput(Batch batch)
    {
        var all = forward(batch.Sparse);
        if (_schema.Sequence is null) return all;
        var sequence = batch.Sequence ?? throw new ArgumentException(
            $"the batch has no sequence but the schema has sequence field '{_schema.Sequence.Name}'");
        return cat(new[] { all, SequenceMean(sequence) }, 1);
    }

    public int DnnWidth => (_schema.SparseFields.Count + (_schema.Sequence is null ? 0 : 1)) * Dim;

    /// <summary>The sequence's embeddings [B, L, D] from the shared table.</summary>
    public Tensor Sequence(Tensor sequence)
    {
        var seq = _schema.Sequence ?? throw new InvalidOperationException("the feature schema has no sequence field");
        return _tables[seq.SharesVocabularyWith].forward(sequence);
    }

    /// <summary>Mean of the non-padding sequence embeddings [B, D] (zero for an empty sequence).</summary>
    public Tensor SequenceMean(Tensor sequence)
    {
        var emb = Sequence(sequence);
        var mask = sequence.ne(0).to(emb.dtype).unsqueeze(-1);
        return (emb * mask).sum(1) / (mask.sum(1) + 1e-8);
    }
}
