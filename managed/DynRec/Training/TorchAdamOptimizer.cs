using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Training;

/// <summary>
/// TorchSharp's optim.Adam behind <see cref="ITrainingOptimizer"/>, with its
/// per-parameter state (step, exp_avg, exp_avg_sq) saved under the
/// parameter's name so a resumed run continues the same trajectory.
/// </summary>
public sealed class TorchAdamOptimizer : ITrainingOptimizer
{
    private readonly Adam _adam;
    private readonly string[] _names;
    private readonly Parameter[] _parameters;
    private readonly double _maxGradNorm;

    /// <param name="maxGradNorm">&gt; 0: clip the gradients by their global L2 norm before each step (0 = off).</param>
    public TorchAdamOptimizer(IEnumerable<(string Name, Parameter Parameter)> parameters, double lr, double weightDecay,
        double maxGradNorm = 0)
    {
        var list = parameters.ToList();
        _names = list.Select(p => p.Name).ToArray();
        _parameters = list.Select(p => p.Parameter).ToArray();
        _maxGradNorm = maxGradNorm;
        _adam = optim.Adam(_parameters, lr: lr, weight_decay: weightDecay);
    }

    public string Name => "adam";

    /// <summary>torch.optim's zero_grad(set_to_none=True), Python's default (TorchSharp's zero_grad() zero-fills).</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters)
        {
            if (p.grad is not { } g) continue;
            p.grad = null;
            g.Dispose();
        }
    }

    public void Step()
    {
        if (_maxGradNorm > 0) nn.utils.clip_grad_norm_(_parameters.Where(p => p.grad is not null), _maxGradNorm);
        _adam.step();
    }

    public Dictionary<string, Tensor> SaveState()
    {
        var states = LiveStates();
        var result = new Dictionary<string, Tensor>();
        for (var i = 0; i < states.Count; i++)
        {
            var s = states[i];
            result[$"{_names[i]}.step"] = tensor(s.step);
            result[$"{_names[i]}.exp_avg"] = s.exp_avg.detach().cpu().clone();
            result[$"{_names[i]}.exp_avg_sq"] = s.exp_avg_sq.detach().cpu().clone();
        }
        return result;
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        var states = LiveStates();
        using var noGrad = no_grad();
        for (var i = 0; i < states.Count; i++)
        {
            var s = states[i];
            s.step = OptimizerState.Get(state, $"{_names[i]}.step", []).item<long>();
            s.exp_avg.copy_(OptimizerState.Get(state, $"{_names[i]}.exp_avg", s.exp_avg.shape));
            s.exp_avg_sq.copy_(OptimizerState.Get(state, $"{_names[i]}.exp_avg_sq", s.exp_avg_sq.shape));
        }
    }

    /// <summary>Adam's state objects, one per parameter in construction order (state_dict returns the live objects).</summary>
    private List<Adam.State> LiveStates()
    {
        var states = _adam.state_dict().State.Cast<Adam.State>().ToList();
        if (states.Count != _names.Length)
            throw new InvalidOperationException($"Adam holds {states.Count} states for {_names.Length} parameters");
        return states;
    }

    public void Dispose() => _adam.Dispose();
}
