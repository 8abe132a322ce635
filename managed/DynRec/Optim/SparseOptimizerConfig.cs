namespace DynRec.Optim;

/// <summary>The sparse optimizers fused into the table-batched embedding backward.</summary>
public enum SparseOptimizerKind
{
    /// <summary>w -= lr * g on touched rows.</summary>
    Sgd = 0,
    /// <summary>Row-wise Adagrad: s[row] += mean(g^2); w -= lr * g / (sqrt(s[row]) + eps).</summary>
    RowWiseAdagrad = 1,
    /// <summary>
    /// Lazy Adam: moments of touched rows only; bias correction by the table-wide step
    /// (torch.optim.SparseAdam) or, with <see cref="SparseOptimizerConfig.PerRowSteps"/>, by each row's own step count.
    /// </summary>
    LazyAdam = 2,
}

/// <summary>Configuration of the fused sparse update (see dynrec_sparse_optimizer in dynrec.h).</summary>
public sealed record SparseOptimizerConfig(
    SparseOptimizerKind Kind,
    float LearningRate,
    float Eps = 1e-8f,
    float Beta1 = 0.9f,
    float Beta2 = 0.999f,
    bool PerRowSteps = false);
