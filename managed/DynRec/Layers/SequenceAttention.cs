using DynRec.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Layers;

/// <summary>
/// M2M's sequence encoder, as FunRec's: a learned position embedding
/// concatenated to each item embedding (positon_agg_func "concat"), multi-head
/// self-attention (Keras MultiHeadAttention: per-head key_dim projections,
/// output projected back to the input width), attention dropout, then mean
/// pooling. Unlike FunRec, padding (id 0) is masked out of the keys and of the
/// pooling; an empty sequence pools to zero. Parameters: position_embeddings
/// [L, D], query/key/value/output (.weight/.bias).
/// </summary>
public sealed class SequenceAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Parameter position_embeddings;
    private readonly Linear query, key, value, output;

    public SequenceAttention(long embDim, long maxLength, int heads, int keyDim, double dropout)
        : base(nameof(SequenceAttention))
    {
        if (heads <= 0) throw new ArgumentOutOfRangeException(nameof(heads), $"attention_heads must be > 0, got {heads}");
        if (keyDim <= 0) throw new ArgumentOutOfRangeException(nameof(keyDim), $"attention_key_dim must be > 0, got {keyDim}");
        var width = 2 * embDim;
        var pos = empty(maxLength, embDim);
        nn.init.xavier_uniform_(pos);
        position_embeddings = new Parameter(pos);
        query = nn.Linear(width, heads * keyDim);
        key = nn.Linear(width, heads * keyDim);
        value = nn.Linear(width, heads * keyDim);
        output = nn.Linear(heads * keyDim, width);
        Heads = heads;
        KeyDim = keyDim;
        Dropout = dropout;
        OutFeatures = width;
        RegisterComponents();
    }

    public int Heads { get; }
    public int KeyDim { get; }
    public double Dropout { get; }
    public long OutFeatures { get; }

    /// <summary>emb [B, L, D], ids [B, L] (0 = padding) -> pooled [B, 2D].</summary>
    public override Tensor forward(Tensor emb, Tensor ids)
    {
        long batch = emb.shape[0], length = emb.shape[1];
        if (length > position_embeddings.shape[0])
            throw new ArgumentException($"sequence length {length} exceeds the position table ({position_embeddings.shape[0]})");
        var pos = position_embeddings[..(int)length].unsqueeze(0).expand(batch, length, -1);
        var x = cat(new[] { emb, pos }, 2);
        Tensor Heads_(Linear proj) => proj.forward(x).view(batch, length, Heads, KeyDim).transpose(1, 2);
        var q = Heads_(query);
        var k = Heads_(key);
        var v = Heads_(value);
        var scores = matmul(q, k.transpose(-2, -1)) / Math.Sqrt(KeyDim);
        var valid = ids.ne(0);
        // A large negative (not -inf) keeps all-padding rows finite; they are pooled out below.
        scores = scores.masked_fill(valid.logical_not().view(batch, 1, 1, length), -1e9f);
        var attention = softmax(scores, -1);
        if (Dropout > 0) attention = Functional.Dropout(attention, Dropout, training);
        var context = matmul(attention, v).transpose(1, 2).reshape(batch, length, Heads * KeyDim);
        var y = output.forward(context);
        var mask = valid.to(y.dtype).unsqueeze(-1);
        return (y * mask).sum(1) / (mask.sum(1) + 1e-8);
    }
}
