using static TorchSharp.torch;

namespace DynRec.Data;

/// <summary>
/// One mini-batch as tensors on the training device. Shapes (B = rows):
/// Sparse [B, F] int64 (columns in <see cref="FeatureSchema.SparseFields"/> order),
/// Sequence [B, L] int64 or null (0 = padding), Labels [B, T] float32 (tasks in
/// <see cref="FeatureSchema.Tasks"/> order), Scenario [B] int64 in
/// 0..ScenarioCount-1, UserIds [B] int64 (GAUC's groups: one number per distinct
/// raw user of the data, users unseen in training included, whose encoded user_id
/// is 0 for all of them alike).
/// The batch owns its tensors.
/// </summary>
public sealed class Batch : IDisposable
{
    public Batch(Tensor sparse, Tensor? sequence, Tensor labels, Tensor scenario, Tensor userIds)
    {
        Sparse = sparse;
        Sequence = sequence;
        Labels = labels;
        Scenario = scenario;
        UserIds = userIds;
    }

    public Tensor Sparse { get; }
    public Tensor? Sequence { get; }
    public Tensor Labels { get; }
    public Tensor Scenario { get; }
    public Tensor UserIds { get; }
    public long Size => Sparse.shape[0];

    public void Dispose()
    {
        Sparse.Dispose();
        Sequence?.Dispose();
        Labels.Dispose();
        Scenario.Dispose();
        UserIds.Dispose();
    }
}
