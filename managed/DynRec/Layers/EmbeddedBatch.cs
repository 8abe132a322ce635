using DynRec.Data;
using static TorchSharp.torch;

namespace DynRec.Layers;

/// <summary>
/// One batch's embeddings as <see cref="FeatureEmbeddings.Lookup"/> produced them:
/// every sparse field's [B, D] block side by side (<see cref="AllFields"/>, schema
/// order) and, when the schema has one, the sequence [B, L, D] (padding positions
/// zero). The accessors slice these; they never look anything up again.
/// </summary>
public sealed class EmbeddedBatch
{
    private readonly FeatureSchema _schema;
    private readonly Tensor? _sequenceIds;

    public EmbeddedBatch(FeatureSchema schema, int dim, Tensor allFields, Tensor? sequence, Tensor? sequenceIds)
    {
        _schema = schema;
        Dim = dim;
        AllFields = allFields;
        SequenceOrNull = sequence;
        _sequenceIds = sequenceIds;
    }

    public int Dim { get; }

    /// <summary>All sparse fields' embeddings concatenated: [B, F*D].</summary>
    public Tensor AllFields { get; }

    /// <summary>The sequence embeddings [B, L, D], or null when the schema has no sequence.</summary>
    public Tensor? SequenceOrNull { get; }

    /// <summary>Embedding of one column [B, D].</summary>
    public Tensor Field(int column) => AllFields.narrow(1, (long)column * Dim, Dim);

    /// <summary>The given columns' embeddings concatenated: [B, n*D].</summary>
    public Tensor Fields(IEnumerable<int> columns)
    {
        var parts = columns.Select(Field).ToList();
        if (parts.Count == 0) throw new ArgumentException("no fields selected");
        return parts.Count == 1 ? parts[0] : cat(parts, 1);
    }

    /// <summary>The mean of the given columns' embeddings: [B, D].</summary>
    public Tensor FieldsMean(IReadOnlyCollection<int> columns)
    {
        if (columns.Count == 0) throw new ArgumentException("no fields selected");
        return stack(columns.Select(Field), 1).mean(new long[] { 1 });
    }

    /// <summary>The fields of a group concatenated; throws naming the group when it is empty.</summary>
    public Tensor Group(FieldGroup group)
    {
        var columns = _schema.FieldsIn(group);
        if (columns.Length == 0) throw new ArgumentException($"the feature schema has no field in group {group}");
        return Fields(columns);
    }

    /// <summary>The sequence's embeddings [B, L, D].</summary>
    public Tensor Sequence => SequenceOrNull ?? throw new InvalidOperationException("the feature schema has no sequence field");

    /// <summary>Mean of the non-padding sequence embeddings [B, D] (zero for an empty sequence).</summary>
    public Tensor SequenceMean()
    {
        var emb = Sequence;
        var mask = _sequenceIds!.ne(0).to(emb.dtype).unsqueeze(-1);
        return (emb * mask).sum(1) / (mask.sum(1) + 1e-8);
    }

    /// <summary>
    /// The DNN part's input: every field's embedding concatenated, then the
    /// mean-pooled sequence when the schema has one.
    /// </summary>
    public Tensor DnnInput() => SequenceOrNull is null ? AllFields : cat(new[] { AllFields, SequenceMean() }, 1);
}
