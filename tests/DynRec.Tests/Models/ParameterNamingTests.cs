using DynRec.Models;
using static TorchSharp.torch;

namespace DynRec.Tests.Models;

// Parameters carry the names and [out, in] shapes PyTorch modules would give them.
[TestFixture]
public class ParameterNamingTests
{
    private static Dictionary<string, long[]> Shapes(string model, Dictionary<string, object?> options)
    {
        using var m = ModelFactory.Create(model, ModelTestData.Schema(), options);
        return m.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
    }

    [Test]
    public void PepNetNames()
    {
        // 6 fields + pooled sequence, emb_dim 4 -> |E| = 28; scenario emb 4; persona 3 fields -> 12; 3 tasks.
        var p = Shapes("pepnet", new() { ["emb_dim"] = 4, ["dnn_units"] = new[] { 16, 8 } });
        Assert.That(p["embeddings.user_id.weight"], Is.EqualTo(new long[] { 13, 4 }));
        Assert.That(p["epnet.gate.fc1.weight"], Is.EqualTo(new long[] { 28, 4 + 28 }));
        Assert.That(p["epnet.gate.fc2.bias"], Is.EqualTo(new long[] { 28 }));
        Assert.That(p["ppnet.gates.0.fc1.weight"], Is.EqualTo(new long[] { 3 * 16, 12 + 28 }));
        Assert.That(p["ppnet.gates.1.fc2.weight"], Is.EqualTo(new long[] { 3 * 8, 3 * 8 }));
        Assert.That(p["ppnet.towers.2.1.weight"], Is.EqualTo(new long[] { 8, 16 }));
        Assert.That(p["heads.0.weight"], Is.EqualTo(new long[] { 1, 8 }));
        Assert.That(p.ContainsKey("heads.0.bias"), Is.False, "FunRec's heads have no bias");
    }

    [Test]
    public void PepNetInputGateIsAsWideAsEachLayersInput()
    {
        var p = Shapes("pepnet", new() { ["emb_dim"] = 4, ["dnn_units"] = new[] { 16, 8 }, ["gate_position"] = "input" });
        Assert.That(p["ppnet.gates.0.fc2.weight"][0], Is.EqualTo(3 * 28));
        Assert.That(p["ppnet.gates.1.fc2.weight"][0], Is.EqualTo(3 * 16));
    }

    [Test]
    public void ApgNames()
    {
        // Layer 0: n = 28, m = 16 -> k = ceil(16/4) = 4, p = ceil(16/2) = 8; group condition = emb_dim 4.
        var p = Shapes("apg", new() { ["emb_dim"] = 4, ["dnn_units"] = new[] { 16, 8 }, ["mf_k"] = 4, ["mf_p"] = 2 });
        Assert.That(p["layers.0.shared_np.weight"], Is.EqualTo(new long[] { 8, 28 }));
        Assert.That(p["layers.0.shared_pk.weight"], Is.EqualTo(new long[] { 4, 8 }));
        Assert.That(p["layers.0.specific_kk.weight_gen.weight"], Is.EqualTo(new long[] { 16, 4 }));
        Assert.That(p["layers.0.specific_kk.bias_gen.weight"], Is.EqualTo(new long[] { 4, 4 }));
        Assert.That(p["layers.0.shared_pm.weight"], Is.EqualTo(new long[] { 16, 8 }));
        var specific = Shapes("apg", new() { ["emb_dim"] = 4, ["dnn_units"] = new[] { 16 }, ["use_uv_shared"] = false, ["condition"] = "mix" });
        Assert.That(specific["layers.0.specific_nk.weight_gen.weight"], Is.EqualTo(new long[] { 28 * 4, 8 }));
        Assert.That(specific["layers.0.specific_km.weight_gen.weight"], Is.EqualTo(new long[] { 4 * 16, 8 }));
    }

    [Test]
    public void M2MNames()
    {
        var p = Shapes("m2m", new() { ["emb_dim"] = 4, ["view_dim"] = 6, ["scenario_dim"] = 5, ["attention_key_dim"] = 4 });
        Assert.That(p["task_embeddings"], Is.EqualTo(new long[] { 3, 6 }));
        Assert.That(p["sequence_encoder.position_embeddings"], Is.EqualTo(new long[] { ModelTestData.SequenceLength, 4 }));
        Assert.That(p["experts.3.layers.0.weight"], Is.EqualTo(new long[] { 6, 6 * 4 + 8 }));
        Assert.That(p["scenario_mlp.layers.0.weight"], Is.EqualTo(new long[] { 5, 4 + 2 * 4 }));
        Assert.That(p["attention_meta_units.0.layers.2.weight_gen.weight"], Is.EqualTo(new long[] { 12 * 12, 5 }));
        Assert.That(p["tower_meta_units.0.layers.0.bias_gen.weight"], Is.EqualTo(new long[] { 6, 5 }));
        Assert.That(p["attention_scores.2.weight"], Is.EqualTo(new long[] { 1, 12 }));
        Assert.That(p.Keys.Any(k => k.StartsWith("attention_meta_units.1.")), Is.False, "shared meta unit by default");
    }
}
