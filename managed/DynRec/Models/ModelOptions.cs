using DynRec.Interop;
using DynRec.Ops;
using DynRec.Optim;

namespace DynRec.Models;

/// <summary>
/// Hyperparameters of a model. Defaults follow FunRec (DESIGN.md "Reference
/// semantics"); a config overrides any of them by its snake_case key
/// (<see cref="OptionBinder"/>), e.g. emb_dim, dnn_units, dropout.
/// </summary>
public abstract record ModelOptions
{
    /// <summary>Embedding width of every categorical field.</summary>
    public int EmbDim { get; init; } = 8;

    /// <summary>
    /// dense: per-field nn.Embedding tables trained by the dense optimizer; otherwise one fused
    /// table-batched embedding whose sparse optimizer updates the touched rows in backward.
    /// It is a model option because it decides the model's tensors (and so its checkpoint names).
    /// </summary>
    public EmbeddingOptimizer EmbeddingOptimizer { get; init; } = EmbeddingOptimizer.Dense;

    /// <summary>Learning rate of the sparse embedding optimizer (unused when dense).</summary>
    public double EmbeddingLr { get; init; } = 1e-3;

    /// <summary>Epsilon of row-wise Adagrad / lazy Adam (unused when dense or sparse_sgd).</summary>
    public double EmbeddingEps { get; init; } = 1e-8;

    /// <summary>The fused sparse optimizer the embeddings use, or null for dense tables.</summary>
    public SparseOptimizerConfig? SparseEmbeddingOptimizer() => EmbeddingOptimizer switch
    {
        EmbeddingOptimizer.Dense => null,
        EmbeddingOptimizer.SparseSgd => new SparseOptimizerConfig(SparseOptimizerKind.Sgd, (float)EmbeddingLr, (float)EmbeddingEps),
        EmbeddingOptimizer.RowwiseAdagrad => new SparseOptimizerConfig(SparseOptimizerKind.RowWiseAdagrad, (float)EmbeddingLr, (float)EmbeddingEps),
        EmbeddingOptimizer.LazyAdam => new SparseOptimizerConfig(SparseOptimizerKind.LazyAdam, (float)EmbeddingLr, (float)EmbeddingEps),
        _ => throw new ArgumentOutOfRangeException(nameof(EmbeddingOptimizer), EmbeddingOptimizer, null),
    };
}

/// <summary>How the embedding tables are stored and updated (config key embedding_optimizer).</summary>
public enum EmbeddingOptimizer
{
    /// <summary>Ordinary parameters, updated by the dense optimizer (train.optimizer).</summary>
    Dense,
    /// <summary>Fused table-batched embedding, w -= lr * g on touched rows.</summary>
    SparseSgd,
    /// <summary>Fused table-batched embedding, row-wise Adagrad.</summary>
    RowwiseAdagrad,
    /// <summary>Fused table-batched embedding, lazy Adam (torch.optim.SparseAdam semantics).</summary>
    LazyAdam,
}

/// <summary>PEPNet (FunRec build_pepnet_model): EPNet + PPNet.</summary>
public sealed record PepNetOptions : ModelOptions
{
    public int[] DnnUnits { get; init; } = { 128, 64 };
    public Activation Activation { get; init; } = Activation.Relu;
    public double Dropout { get; init; } = 0.1;
    /// <summary>GateNU output scale: delta in (0, gamma).</summary>
    public float Gamma { get; init; } = 2f;
    /// <summary>output (FunRec) or input (the paper).</summary>
    public GatePosition GatePosition { get; init; } = GatePosition.Output;
}

/// <summary>What APG's generated weights are conditioned on.</summary>
public enum ApgCondition
{
    /// <summary>Group-wise: the scenario field's embedding (FunRec).</summary>
    Group,
    /// <summary>Mix-wise: mean of the user fields' embeddings ⊕ mean of the item fields' embeddings.</summary>
    Mix,
    /// <summary>Self-wise: each layer's own input.</summary>
    Self,
}

/// <summary>APG (FunRec build_apg_model): an MLP of APG layers.</summary>
public sealed record ApgOptions : ModelOptions
{
    public int[] DnnUnits { get; init; } = { 256, 128 };
    public Activation Activation { get; init; } = Activation.Relu;
    public Activation InnerActivation { get; init; } = Activation.None;
    public double Dropout { get; init; } = 0.2;
    public int MfK { get; init; } = 4;
    public int MfP { get; init; } = 4;
    public bool UseMfP { get; init; } = true;
    public bool UseUvShared { get; init; } = true;
    public ApgCondition Condition { get; init; } = ApgCondition.Group;

    public ApgMode Mode => !UseUvShared ? ApgMode.Specific : UseMfP ? ApgMode.UvSharedMfP : ApgMode.UvShared;
}

/// <summary>M2M (FunRec build_m2m_model, with the paper's softmax and residual by default).</summary>
public sealed record M2MOptions : ModelOptions
{
    public int NumExperts { get; init; } = 4;
    public int ViewDim { get; init; } = 32;
    /// <summary>Hidden layers of each expert before its view_dim output (the paper's expert MLPs); empty = FunRec's one layer.</summary>
    public int[] ExpertUnits { get; init; } = [];
    public int ScenarioDim { get; init; } = 16;
    public int MetaTowerDepth { get; init; } = 3;
    public int MetaUnitDepth { get; init; } = 3;
    /// <summary>One meta unit for all tasks' attention and one for all towers' layers (FunRec's default).</summary>
    public bool MetaUnitShared { get; init; } = true;
    public Activation Activation { get; init; } = Activation.LeakyRelu;
    public double Dropout { get; init; } = 0.2;
    /// <summary>Softmax over experts in the meta attention (paper); FunRec uses the raw scores.</summary>
    public bool AttentionSoftmax { get; init; } = true;
    /// <summary>L^j = act(Meta(L^{j-1}) + L^{j-1}) (paper); FunRec has no residual.</summary>
    public bool TowerResidual { get; init; } = true;
    /// <summary>Expert/task/scenario MLPs as single linear layers (FunRec); otherwise activated + dropout.</summary>
    public bool LinearMlps { get; init; } = false;
    public int AttentionHeads { get; init; } = 1;
    public int AttentionKeyDim { get; init; } = 16;
    public double AttentionDropout { get; init; } = 0.2;
}

/// <summary>A plain DNN per task.</summary>
public sealed record DnnOptions : ModelOptions
{
    public int[] DnnUnits { get; init; } = { 128, 64 };
    public Activation Activation { get; init; } = Activation.Relu;
    public double Dropout { get; init; } = 0.1;
}

/// <summary>Shared-bottom (FunRec config_shared_bottom).</summary>
public sealed record SharedBottomOptions : ModelOptions
{
    public int[] BottomUnits { get; init; } = { 128, 64 };
    public int[] TowerUnits { get; init; } = { 128, 64 };
    public Activation Activation { get; init; } = Activation.Relu;
    public double Dropout { get; init; } = 0.1;
}

/// <summary>MMoE (FunRec config_mmoe).</summary>
public sealed record MmoeOptions : ModelOptions
{
    public int NumExperts { get; init; } = 4;
    public int[] ExpertUnits { get; init; } = { 128, 64 };
    public int[] GateUnits { get; init; } = { 128, 64 };
    public int[] TowerUnits { get; init; } = { 128, 64 };
    public Activation Activation { get; init; } = Activation.Relu;
    public double Dropout { get; init; } = 0.1;
}
