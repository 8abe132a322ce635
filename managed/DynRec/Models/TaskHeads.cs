using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Models;

/// <summary>
/// One logit per task: heads.{t}.weight [1, in], no bias, as FunRec's
/// PredictLayer (Dense(1, use_bias=False)). Input is one representation per
/// task [T, B, in] or a shared one [B, in]; output logits [B, T].
/// </summary>
public sealed class TaskHeads : nn.Module<Tensor, Tensor>
{
    private readonly List<Linear> _heads = new();

    public TaskHeads(int taskCount, long inFeatures) : base(nameof(TaskHeads))
    {
        // Registered directly as "0", "1", ... so a model's field `heads` gives heads.{t}.weight.
        for (var t = 0; t < taskCount; t++)
        {
            var head = nn.Linear(inFeatures, 1, hasBias: false);
            _heads.Add(head);
            register_module(t.ToString(System.Globalization.CultureInfo.InvariantCulture), head);
        }
    }

    public override Tensor forward(Tensor x)
    {
        var perTask = x.dim() == 3;
        return cat(_heads.Select((h, t) => h.forward(perTask ? x[t] : x)).ToList(), 1);
    }

    /// <summary>Per-task representations as a list -> logits [B, T].</summary>
    public Tensor forward(IReadOnlyList<Tensor> perTask) =>
        cat(_heads.Select((h, t) => h.forward(perTask[t])).ToList(), 1);
}
