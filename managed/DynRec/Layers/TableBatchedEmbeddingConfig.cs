namespace DynRec.Layers;

/// <summary>How a field's bag of ids becomes columns of the output.</summary>
public enum EmbeddingPooling
{
    /// <summary>Sum of the non-padding rows (dim columns).</summary>
    Sum = 0,
    /// <summary>Mean over the non-padding rows; an all-padding bag gives zeros (dim columns).</summary>
    Mean = 1,
    /// <summary>No pooling: bag * dim columns, a [B, bag, dim] block; padding slots are zero.</summary>
    None = 2,
}

/// <summary>
/// One categorical field of a <see cref="TableBatchedEmbedding"/>: its vocabulary
/// (ids 0..VocabularySize-1, 0 = padding), embedding width, pooling and bag size
/// (1 = single-valued, &gt; 1 = multi-hot or a right-padded sequence).
/// <paramref name="SharesTableWith"/> names an earlier field whose table this field
/// reads (e.g. a click sequence over the video_id table); its vocabulary and dim must match.
/// </summary>
public sealed record EmbeddingFieldConfig(
    string Name,
    long VocabularySize,
    long Dim,
    EmbeddingPooling Pooling = EmbeddingPooling.Sum,
    long BagSize = 1,
    string? SharesTableWith = null);
