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

    public TorchAdamOptimizer(IEnumerable<(string Name, Parameter Parameter)> parameters, double lr, double weightDecay)
    {
        var list = parameters.ToList();
        _names = list.Select(p => p.Name).ToArray();
        _adam = optim.Adam(list.Select(p => p.Parameter), lr: lr, weight_decay: weightDecay);
    }

    public string Name => "adam";

    public void ZeroGrad() => _adam.zero_grad();

    public void Step() => _adam.step();

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
            s.step = Get(state, $"{_names[i]}.step", []).item<long>();
            s.exp_avg.copy_(Get(state, $"{_names[i]}.exp_avg", s.exp_avg.shape));
            s.exp_avg_sq.copy_(Get(state, $"{_names[i]}.exp_avg_sq", s.exp_avg_sq.shape));
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

    private static Tensor Get(IReadOnlyDictionary<string, Tensor> state, string key, long[] shape)
    {
        if (!state.TryGetValue(key, out var t))
            throw new InvalidDataException($"optimizer state lacks '{key}' (checkpoint from another model or optimizer?)");
        if (!t.shape.SequenceEqual(shape))
            throw new InvalidDataException($"optimizer state '{key}' has shape [{string.Join(", ", t.shape)}], the parameter needs [{string.Join(", ", shape)}]");
        return t;
    }

    public void Dispose() => _adam.Dispose();
}
