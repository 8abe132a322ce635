using DynRec.Data;
using DynRec.Layers;
using DynRec.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Models;

/// <summary>
/// A plain DNN per task over the concatenated field embeddings (+ mean-pooled
/// sequence). Parameters: embeddings.*, towers.{t}.layers.{l}.*, heads.{t}.weight.
/// </summary>
public sealed class DnnModel : MultiTaskModel
{
    private readonly FeatureEmbeddings embeddings;
    private readonly ModuleList<Mlp> towers;
    private readonly TaskHeads heads;
    private readonly DnnOptions _options;

    public DnnModel(FeatureSchema schema, DnnOptions o, Kernels kernels = Kernels.Native) : base(nameof(DnnModel), schema)
    {
        _options = o;
        embeddings = new FeatureEmbeddings(schema, o.EmbDim, o.SparseEmbeddingOptimizer());
        towers = new ModuleList<Mlp>();
        for (var t = 0; t < schema.Tasks.Count; t++)
            towers.Add(new Mlp(embeddings.DnnWidth, o.DnnUnits, o.Activation, o.Dropout));
        heads = new TaskHeads(schema.Tasks.Count, o.DnnUnits[^1]);
        RegisterComponents();
        Kernels = kernels;
    }

    public override ModelOptions Options => _options;
    public override string ModelName => "dnn";

    public override Tensor forward(Batch batch)
    {
        var x = embeddings.Lookup(batch).DnnInput();
        return heads.forward(towers.Select(t => t.forward(x)).ToList());
    }
}

/// <summary>
/// Shared-bottom: one MLP shared by all tasks, then a tower MLP per task.
/// Parameters: embeddings.*, bottom.layers.{l}.*, towers.{t}.layers.{l}.*, heads.{t}.weight.
/// </summary>
public sealed class SharedBottom : MultiTaskModel
{
    private readonly FeatureEmbeddings embeddings;
    private readonly Mlp bottom;
    private readonly ModuleList<Mlp> towers;
    private readonly TaskHeads heads;
    private readonly SharedBottomOptions _options;

    public SharedBottom(FeatureSchema schema, SharedBottomOptions o, Kernels kernels = Kernels.Native)
        : base(nameof(SharedBottom), schema)
    {
        _options = o;
        embeddings = new FeatureEmbeddings(schema, o.EmbDim, o.SparseEmbeddingOptimizer());
        bottom = new Mlp(embeddings.DnnWidth, o.BottomUnits, o.Activation, o.Dropout);
        towers = new ModuleList<Mlp>();
        for (var t = 0; t < schema.Tasks.Count; t++)
            towers.Add(new Mlp(bottom.OutFeatures, o.TowerUnits, o.Activation, o.Dropout));
        heads = new TaskHeads(schema.Tasks.Count, o.TowerUnits[^1]);
        RegisterComponents();
        Kernels = kernels;
    }

    public override ModelOptions Options => _options;
    public override string ModelName => "shared_bottom";

    public override Tensor forward(Batch batch)
    {
        var shared = bottom.forward(embeddings.Lookup(batch).DnnInput());
        return heads.forward(towers.Select(t => t.forward(shared)).ToList());
    }
}

/// <summary>
/// MMoE: expert MLPs shared by the tasks; per task a gate (MLP, then a linear
/// layer to the expert count, softmax) mixes the experts' outputs, then a
/// tower MLP. Parameters: embeddings.*, experts.{i}.layers.{l}.*,
/// gates.{t}.layers.{l}.*, gate_outputs.{t}.*, towers.{t}.layers.{l}.*, heads.{t}.weight.
/// </summary>
public sealed class Mmoe : MultiTaskModel
{
    private readonly FeatureEmbeddings embeddings;
    private readonly ModuleList<Mlp> experts;
    private readonly ModuleList<Mlp> gates;
    private readonly ModuleList<Linear> gate_outputs;
    private readonly ModuleList<Mlp> towers;
    private readonly TaskHeads heads;
    private readonly MmoeOptions _options;

    public Mmoe(FeatureSchema schema, MmoeOptions o, Kernels kernels = Kernels.Native) : base(nameof(Mmoe), schema)
    {
        if (o.NumExperts <= 0) throw new ArgumentOutOfRangeException(nameof(o), $"num_experts must be > 0, got {o.NumExperts}");
        _options = o;
        embeddings = new FeatureEmbeddings(schema, o.EmbDim, o.SparseEmbeddingOptimizer());
        var width = embeddings.DnnWidth;
        experts = new ModuleList<Mlp>();
        for (var i = 0; i < o.NumExperts; i++) experts.Add(new Mlp(width, o.ExpertUnits, o.Activation, o.Dropout));
        gates = new ModuleList<Mlp>();
        gate_outputs = new ModuleList<Linear>();
        towers = new ModuleList<Mlp>();
        for (var t = 0; t < schema.Tasks.Count; t++)
        {
            gates.Add(new Mlp(width, o.GateUnits, o.Activation, o.Dropout));
            gate_outputs.Add(nn.Linear(o.GateUnits[^1], o.NumExperts));
            towers.Add(new Mlp(o.ExpertUnits[^1], o.TowerUnits, o.Activation, o.Dropout));
        }
        heads = new TaskHeads(schema.Tasks.Count, o.TowerUnits[^1]);
        RegisterComponents();
        Kernels = kernels;
    }

    public override ModelOptions Options => _options;
    public override string ModelName => "mmoe";

    public override Tensor forward(Batch batch)
    {
        var x = embeddings.Lookup(batch).DnnInput();
        var expertOut = stack(experts.Select(e => e.forward(x)), 1); // [B, E, H]
        var reps = new List<Tensor>();
        for (var t = 0; t < gates.Count; t++)
        {
            var weights = softmax(gate_outputs[t].forward(gates[t].forward(x)), 1).unsqueeze(-1); // [B, E, 1]
            reps.Add(towers[t].forward((weights * expertOut).sum(1)));
        }
        return heads.forward(reps);
    }
}
