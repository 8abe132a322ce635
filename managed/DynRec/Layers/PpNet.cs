using DynRec.Interop;
using DynRec.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Layers;

/// <summary>
/// PEPNet's Parameter Personalized Network, as FunRec's PPNet: T task towers
/// of dense layers; layer l has one GateNU over concat(persona, sg(input))
/// (input = the tower stack's input, O_ep, for every layer) whose output is
/// split across the T towers; each tower's layer is gated, then dropout.
/// Gate on the layer output (FunRec: y = delta ⊙ act(x W^T + b), gate width
/// T*units) or on its input (the paper: y = act((delta ⊙ x) W^T + b), gate
/// width T*in). Parameters: gates.{l}.fc1/fc2.*, towers.{t}.{l}.weight [out, in],
/// towers.{t}.{l}.bias. All towers of a layer run as one tower-batched op.
/// </summary>
public sealed class PpNet : nn.Module<Tensor, Tensor, Tensor>, IKernelSwitch
{
    private readonly ModuleList<GateNU> gates;
    private readonly ModuleList<ModuleList<Linear>> towers;
    private readonly long[] _widths;

    public PpNet(long inFeatures, long personaFeatures, int taskCount, IReadOnlyList<int> units,
        Activation activation, double dropout, float gamma, GatePosition position, Kernels kernels = Kernels.Native)
        : base(nameof(PpNet))
    {
        if (taskCount <= 0) throw new ArgumentOutOfRangeException(nameof(taskCount), "need at least one task");
        if (units.Count == 0) throw new ArgumentException("PPNet needs at least one layer", nameof(units));
        _widths = new long[units.Count + 1];
        _widths[0] = inFeatures;
        for (var l = 0; l < units.Count; l++)
        {
            if (units[l] <= 0) throw new ArgumentOutOfRangeException(nameof(units), $"layer sizes must be > 0, got {units[l]}");
            _widths[l + 1] = units[l];
        }
        gates = new ModuleList<GateNU>();
        for (var l = 0; l < units.Count; l++)
        {
            var gated = position == GatePosition.Output ? _widths[l + 1] : _widths[l];
            gates.Add(new GateNU(personaFeatures + inFeatures, gated * taskCount, gated * taskCount, gamma, kernels));
        }
        towers = new ModuleList<ModuleList<Linear>>();
        for (var t = 0; t < taskCount; t++)
        {
            var tower = new ModuleList<Linear>();
            for (var l = 0; l < units.Count; l++) tower.Add(nn.Linear(_widths[l], _widths[l + 1]));
            towers.Add(tower);
        }
        TaskCount = taskCount;
        Activation = activation;
        Dropout = dropout;
        Position = position;
        Kernels = kernels;
        RegisterComponents();
    }

    public Kernels Kernels { get; set; }
    public int TaskCount { get; }
    public Activation Activation { get; }
    public double Dropout { get; }
    public GatePosition Position { get; }
    public long OutFeatures => _widths[^1];

    /// <summary>inputs [B, in] (O_ep), persona [B, P] -> tower outputs [T, B, units[^1]].</summary>
    public override Tensor forward(Tensor inputs, Tensor persona)
    {
        Tensor output = inputs;
        for (var l = 0; l < gates.Count; l++)
        {
            // Every layer's gate reads concat(persona, sg(O_ep)); only persona gets a gradient.
            var delta = gates[l].forward(persona, inputs);
            var w = stack(towers.Select(tower => tower[l].weight!));
            var b = stack(towers.Select(tower => tower[l].bias!));
            output = Functional.GatedLinearTowers(output, w, b, delta, Activation, Position, Kernels);
            if (Dropout > 0) output = Functional.Dropout(output, Dropout, training);
        }
        return output;
    }
}
