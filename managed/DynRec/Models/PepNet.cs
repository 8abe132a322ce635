using DynRec.Data;
using DynRec.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Models;

/// <summary>
/// PEPNet, matching FunRec's build_pepnet_model / EPNet / PPNet / GateNU
/// (datawhalechina/fun-rec src/funrec/models/{pepnet,layers}.py):
/// E = all field embeddings (+ mean-pooled sequence) concatenated;
/// EPNet: O_ep = GateNU(concat(scenario_emb, sg(E))) ⊙ E, gate hidden = out = |E|, gamma 2;
/// PPNet: per layer one GateNU(hidden = out = T*units) over concat(persona, sg(O_ep)),
/// split across the T towers; tower layer = gate ⊙ act(dense) (output position) then dropout;
/// head: Dense(1, no bias) per task. Persona = the Persona fields (user_id, video_id, author_id).
/// Differences: FunRec's E is its "dnn" group, which leaves out the scenario field
/// (tab); here every field is in E. FunRec's l2_reg is left to the optimizer.
/// Parameters: embeddings.{field}.weight, epnet.gate.fc1.weight, ...,
/// ppnet.gates.{l}.fc1.weight, ppnet.towers.{t}.{l}.weight, heads.{t}.weight.
/// </summary>
public sealed class PepNet : MultiTaskModel
{
    private readonly FeatureEmbeddings embeddings;
    private readonly EpNet epnet;
    private readonly PpNet ppnet;
    private readonly TaskHeads heads;
    private readonly int _scenarioColumn;
    private readonly int[] _personaColumns;

    public PepNet(FeatureSchema schema, PepNetOptions options, Ops.Kernels kernels = Ops.Kernels.Native)
        : base(nameof(PepNet), schema)
    {
        _options = options;
        embeddings = new FeatureEmbeddings(schema, options.EmbDim, options.SparseEmbeddingOptimizer());
        _scenarioColumn = schema.IndexOf(schema.ScenarioField);
        _personaColumns = schema.FieldsIn(FieldGroup.Persona);
        if (_personaColumns.Length == 0)
            throw new ArgumentException("PEPNet needs persona fields (FieldGroup.Persona, e.g. user_id, video_id, author_id)");
        var width = embeddings.DnnWidth;
        epnet = new EpNet(options.EmbDim, width, options.Gamma, kernels);
        ppnet = new PpNet(width, _personaColumns.Length * options.EmbDim, schema.Tasks.Count, options.DnnUnits,
            options.Activation, options.Dropout, options.Gamma, options.GatePosition, kernels);
        heads = new TaskHeads(schema.Tasks.Count, ppnet.OutFeatures);
        RegisterComponents();
        Kernels = kernels;
    }

    private readonly PepNetOptions _options;
    public override ModelOptions Options => _options;
    public override string ModelName => "pepnet";

    public override Tensor forward(Batch batch)
    {
        var embedded = embeddings.Lookup(batch);
        var e = embedded.DnnInput();
        var scenario = embedded.Field(_scenarioColumn);
        var persona = embedded.Fields(_personaColumns);
        var ep = epnet.forward(scenario, e);
        return heads.forward(ppnet.forward(ep, persona));
    }
}
