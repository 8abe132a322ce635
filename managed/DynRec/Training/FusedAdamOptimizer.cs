using DynRec.Optim;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Training;

/// <summary>
/// DynRec.Optim.FusedAdam (fused_adam: L2 weight decay like torch.optim.Adam) or
/// FusedAdamW (fused_adamw: decoupled decay) behind <see cref="ITrainingOptimizer"/>:
/// one native multi-tensor update per step, optional global-norm clipping, and
/// the moments and step saved under the parameter's name ("{name}.exp_avg",
/// "{name}.exp_avg_sq", "{name}.step"), the same layout as <see cref="TorchAdamOptimizer"/>.
/// </summary>
public sealed class FusedAdamOptimizer : ITrainingOptimizer
{
    private readonly FusedAdam _adam;
    private readonly string[] _names;

    public FusedAdamOptimizer(IEnumerable<(string Name, Parameter Parameter)> parameters, double lr, double weightDecay,
        double maxGradNorm, bool decoupled)
    {
        var list = parameters.ToList();
        _names = list.Select(p => p.Name).ToArray();
        var ps = list.Select(p => p.Parameter);
        _adam = decoupled
            ? new FusedAdamW(ps, lr, weightDecay: weightDecay, maxGradNorm: maxGradNorm)
            : new FusedAdam(ps, lr, weightDecay: weightDecay, maxGradNorm: maxGradNorm);
        Name = decoupled ? "fused_adamw" : "fused_adam";
    }

    public string Name { get; }

    public void ZeroGrad() => _adam.ZeroGrad();

    public void Step() => _adam.Step();

    public Dictionary<string, Tensor> SaveState()
    {
        var result = new Dictionary<string, Tensor>();
        for (var i = 0; i < _names.Length; i++)
        {
            result[$"{_names[i]}.step"] = tensor(_adam.StepCount(i));
            result[$"{_names[i]}.exp_avg"] = _adam.ExpAvg[i].detach().cpu().clone();
            result[$"{_names[i]}.exp_avg_sq"] = _adam.ExpAvgSq[i].detach().cpu().clone();
        }
        return result;
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        // FusedAdam keys its state by position; check everything by name first so a bad file changes nothing.
        var byIndex = new Dictionary<string, Tensor>();
        for (var i = 0; i < _names.Length; i++)
        {
            byIndex[$"{i}.step"] = OptimizerState.Get(state, $"{_names[i]}.step", []);
            byIndex[$"{i}.exp_avg"] = OptimizerState.Get(state, $"{_names[i]}.exp_avg", _adam.ExpAvg[i].shape);
            byIndex[$"{i}.exp_avg_sq"] = OptimizerState.Get(state, $"{_names[i]}.exp_avg_sq", _adam.ExpAvgSq[i].shape);
        }
        _adam.LoadStateDict(byIndex);
    }

    public void Dispose() => _adam.Dispose();
}
