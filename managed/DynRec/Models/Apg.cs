using DynRec.Data;
using DynRec.Layers;
using DynRec.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Models;

/// <summary>
/// APG, matching FunRec's build_apg_model / APGLayer (datawhalechina/fun-rec
/// src/funrec/models/{apg,layers}.py): the concatenated field embeddings (+
/// mean-pooled sequence) go through one APG layer per dnn_units entry (output
/// activation relu, no inner activation, dropout after each), then one
/// Dense(1, no bias) per task. k = ceil(min(n,m)/mf_k), p = ceil(min(n,m)/mf_p).
/// Condition: group-wise = the scenario embedding (FunRec's only mode), mix-wise
/// = mean(user field embs) ⊕ mean(item field embs), self-wise = the layer input.
/// Parameters: embeddings.{field}.weight, layers.{i}.shared_np.weight, ...,
/// layers.{i}.specific_kk.weight_gen.weight, heads.{t}.weight.
/// </summary>
public sealed class Apg : MultiTaskModel
{
    private readonly FeatureEmbeddings embeddings;
    private readonly ModuleList<ApgLayer> layers;
    private readonly TaskHeads heads;
    private readonly ApgOptions _options;
    private readonly int _scenarioColumn;
    private readonly int[] _userColumns = Array.Empty<int>();
    private readonly int[] _itemColumns = Array.Empty<int>();

    public Apg(FeatureSchema schema, ApgOptions options, Kernels kernels = Kernels.Native) : base(nameof(Apg), schema)
    {
        _options = options;
        embeddings = new FeatureEmbeddings(schema, options.EmbDim, options.SparseEmbeddingOptimizer());
        _scenarioColumn = schema.IndexOf(schema.ScenarioField);
        if (options.Condition == ApgCondition.Mix)
        {
            _userColumns = schema.FieldsIn(FieldGroup.User);
            _itemColumns = schema.FieldsIn(FieldGroup.Item);
            if (_userColumns.Length == 0 || _itemColumns.Length == 0)
                throw new ArgumentException("APG condition 'mix' needs user and item fields (FieldGroup.User, FieldGroup.Item)");
        }
        layers = new ModuleList<ApgLayer>();
        long width = embeddings.DnnWidth;
        foreach (var units in options.DnnUnits)
        {
            var spec = ApgLayerSpec.Create(options.Mode, width, units, options.MfK, options.MfP,
                options.InnerActivation, options.Activation);
            var cond = options.Condition switch
            {
                ApgCondition.Group => options.EmbDim,
                ApgCondition.Mix => 2L * options.EmbDim,
                _ => width,
            };
            layers.Add(new ApgLayer(spec, cond, kernels));
            width = units;
        }
        heads = new TaskHeads(schema.Tasks.Count, width);
        RegisterComponents();
        Kernels = kernels;
    }

    public override ModelOptions Options => _options;
    public override string ModelName => "apg";

    public override Tensor forward(Batch batch)
    {
        var embedded = embeddings.Lookup(batch);
        var x = embedded.DnnInput();
        Tensor? shared = _options.Condition switch
        {
            ApgCondition.Group => embedded.Field(_scenarioColumn),
            ApgCondition.Mix => cat(new[]
            {
                embedded.FieldsMean(_userColumns), embedded.FieldsMean(_itemColumns),
            }, 1),
            _ => null,
        };
        foreach (var layer in layers)
        {
            x = layer.forward(x, shared ?? x);
            if (_options.Dropout > 0) x = Functional.Dropout(x, _options.Dropout, training);
        }
        return heads.forward(x);
    }
}
