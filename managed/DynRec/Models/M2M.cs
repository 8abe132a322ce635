using DynRec.Data;
using DynRec.Interop;
using DynRec.Layers;
using DynRec.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Models;

/// <summary>
/// M2M (multi-scenario multi-task meta learning), matching FunRec's
/// build_m2m_model / MetaUnit / MetaAttention / MetaTower (datawhalechina/fun-rec
/// src/funrec/models/{m2m,layers}.py), with the paper's choices as defaults:
/// experts E_i = MLP_i(concat(all field embs, MHA(sequence))) [B, view] (hidden layers expert_units, FunRec none);
/// task views T_t = MLP_t(Emb(t)); scenario view S~ = MLP(scenario emb ⊕ user field embs) [B, scenario_dim];
/// meta attention a_ti = v_t^T Meta([E_i || T_t]; S~), softmax over experts
/// (attention_softmax; FunRec uses raw scores), R_t = Σ_i a_ti E_i;
/// meta tower L^j = act(Meta(L^{j-1}; S~) + L^{j-1}) (tower_residual; FunRec: act(Meta(L^{j-1}))),
/// dropout; head Dense(1, no bias) per task. Meta = meta_unit_depth hyper_linear
/// steps (FunRec MetaUnit). meta_unit_shared (FunRec's default): one meta unit
/// for every task's attention and one for every tower layer of every task.
/// linear_mlps = FunRec's single linear layers for the expert/task/scenario MLPs.
/// FunRec's linear_logits term is not included.
/// Parameters: embeddings.*, sequence_encoder.*, experts.{i}.layers.{l}.* (l = 0 without expert_units),
/// task_embeddings [T, view], task_mlps.{t}.*, scenario_mlp.*,
/// attention_meta_units.{u}.layers.{j}.weight_gen.*, attention_scores.{t}.*,
/// tower_meta_units.{u}.layers.{j}.*, heads.{t}.weight.
/// </summary>
public sealed class M2M : MultiTaskModel
{
    private readonly FeatureEmbeddings embeddings;
    private readonly SequenceAttention? sequence_encoder;
    private readonly ModuleList<Mlp> experts;
    private readonly Parameter task_embeddings;
    private readonly ModuleList<Mlp> task_mlps;
    private readonly Mlp scenario_mlp;
    private readonly ModuleList<MetaUnit> attention_meta_units;
    private readonly ModuleList<Linear> attention_scores;
    private readonly ModuleList<MetaUnit> tower_meta_units;
    private readonly TaskHeads heads;
    private readonly M2MOptions _options;
    private readonly int _scenarioColumn;
    private readonly int[] _userColumns;

    public M2M(FeatureSchema schema, M2MOptions o, Kernels kernels = Kernels.Native) : base(nameof(M2M), schema)
    {
        if (o.NumExperts <= 0) throw new ArgumentOutOfRangeException(nameof(o), $"num_experts must be > 0, got {o.NumExperts}");
        if (o.MetaTowerDepth <= 0) throw new ArgumentOutOfRangeException(nameof(o), $"meta_tower_depth must be > 0, got {o.MetaTowerDepth}");
        _options = o;
        var tasks = schema.Tasks.Count;
        embeddings = new FeatureEmbeddings(schema, o.EmbDim, o.SparseEmbeddingOptimizer());
        _scenarioColumn = schema.IndexOf(schema.ScenarioField);
        _userColumns = schema.FieldsIn(FieldGroup.User);
        if (_userColumns.Length == 0) throw new ArgumentException("M2M needs user fields (FieldGroup.User) for the scenario view");

        long expertIn = schema.SparseFields.Count * (long)o.EmbDim;
        if (schema.Sequence is not null)
        {
            sequence_encoder = new SequenceAttention(o.EmbDim, schema.Sequence.MaxLength, o.AttentionHeads,
                o.AttentionKeyDim, o.AttentionDropout);
            expertIn += sequence_encoder.OutFeatures;
        }
        var act = o.LinearMlps ? Activation.None : o.Activation;
        var mlpDropout = o.LinearMlps ? 0 : o.Dropout;
        experts = new ModuleList<Mlp>();
        for (var i = 0; i < o.NumExperts; i++) experts.Add(new Mlp(expertIn, [.. o.ExpertUnits, o.ViewDim], act, mlpDropout));
        var taskEmb = empty(tasks, o.ViewDim);
        nn.init.uniform_(taskEmb, -0.05, 0.05);
        task_embeddings = new Parameter(taskEmb);
        task_mlps = new ModuleList<Mlp>();
        for (var t = 0; t < tasks; t++) task_mlps.Add(new Mlp(o.ViewDim, new[] { o.ViewDim }, act, mlpDropout));
        scenario_mlp = new Mlp(o.EmbDim * (1L + _userColumns.Length), new[] { o.ScenarioDim }, act, 0);

        var attentionUnits = o.MetaUnitShared ? 1 : tasks;
        attention_meta_units = new ModuleList<MetaUnit>();
        for (var u = 0; u < attentionUnits; u++)
            attention_meta_units.Add(new MetaUnit(2L * o.ViewDim, o.ScenarioDim, o.MetaUnitDepth, o.Activation, o.Dropout, kernels));
        attention_scores = new ModuleList<Linear>();
        for (var t = 0; t < tasks; t++) attention_scores.Add(nn.Linear(2L * o.ViewDim, 1));
        var towerUnits = o.MetaUnitShared ? 1 : tasks * o.MetaTowerDepth;
        tower_meta_units = new ModuleList<MetaUnit>();
        for (var u = 0; u < towerUnits; u++)
            tower_meta_units.Add(new MetaUnit(o.ViewDim, o.ScenarioDim, o.MetaUnitDepth, o.Activation, o.Dropout, kernels));
        heads = new TaskHeads(tasks, o.ViewDim);
        RegisterComponents();
        Kernels = kernels;
    }

    public override ModelOptions Options => _options;
    public override string ModelName => "m2m";

    public override Tensor forward(Batch batch)
    {
        var o = _options;
        var tasks = Schema.Tasks.Count;
        var embedded = embeddings.Lookup(batch);
        var expertInput = embedded.AllFields;
        if (sequence_encoder is not null)
            expertInput = cat(new[] { expertInput, sequence_encoder.forward(embedded.Sequence, batch.Sequence!) }, 1);
        var expertViews = stack(experts.Select(e => e.forward(expertInput)), 1); // [B, E, view]
        long b = expertViews.shape[0], e = expertViews.shape[1];
        var scenarioInput = cat(new[]
        {
            embedded.Field(_scenarioColumn), embedded.Fields(_userColumns),
        }, 1);
        var scenarioView = scenario_mlp.forward(scenarioInput); // [B, scenario_dim]

        // With shared meta units (meta_unit_shared) every task's rows go through one call, so the
        // rows of a sample (tasks x experts in attention, tasks in the towers) share its scenario
        // view and the native op generates each sample's weights once for all of them.
        var taskGroups = o.MetaUnitShared
            ? new[] { Enumerable.Range(0, tasks).ToArray() }
            : Enumerable.Range(0, tasks).Select(t => new[] { t }).ToArray();
        var towerOutputs = new Tensor[tasks];
        foreach (var group in taskGroups)
        {
            var taskViews = group.Select(t => task_mlps[t].forward(task_embeddings[t].unsqueeze(0).expand(b, -1))); // [B, view] each
            var attentionInput = stack(taskViews.Select(v => cat(new[] { expertViews, v.unsqueeze(1).expand(b, e, -1) }, 2)), 1);
            var meta = attention_meta_units[o.MetaUnitShared ? 0 : group[0]]
                .forward(attentionInput.view(b, group.Length * e, -1), scenarioView)
                .view(b, group.Length, e, -1); // [B, tasks in group, E, 2 view]
            var levels = new List<Tensor>();
            for (var k = 0; k < group.Length; k++)
            {
                var scores = attention_scores[group[k]].forward(meta.select(1, k)).squeeze(-1); // [B, E]
                if (o.AttentionSoftmax) scores = softmax(scores, 1);
                levels.Add((scores.unsqueeze(-1) * expertViews).sum(1)); // R_t [B, view]
            }
            var level = stack(levels, 1); // [B, tasks in group, view]
            for (var j = 0; j < o.MetaTowerDepth; j++)
            {
                var unit = tower_meta_units[o.MetaUnitShared ? 0 : group[0] * o.MetaTowerDepth + j];
                var m = unit.forward(level, scenarioView);
                level = Reference.Activate(o.TowerResidual ? m + level : m, o.Activation);
                if (o.Dropout > 0) level = Functional.Dropout(level, o.Dropout, training);
            }
            for (var k = 0; k < group.Length; k++) towerOutputs[group[k]] = level.select(1, k);
        }
        return heads.forward(towerOutputs);
    }
}
