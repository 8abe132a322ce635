using DynRec.Interop;
using DynRec.Models;
using DynRec.Ops;
using static TorchSharp.torch;

namespace DynRec.Tests.Models;

[TestFixture]
public class ModelFactoryTests
{
    [Test]
    public void EveryRegisteredModelBuildsWithFunRecDefaults()
    {
        using var scope = NewDisposeScope();
        var schema = ModelTestData.Schema();
        Assert.That(ModelFactory.Names, Is.EquivalentTo(new[] { "pepnet", "apg", "m2m", "dnn", "shared_bottom", "mmoe" }));
        using var batch = ModelTestData.RandomBatch(schema, 5, seed: 1);
        foreach (var name in ModelFactory.Names)
        {
            using var model = ModelFactory.Create(name, schema);
            Assert.That(model.ModelName, Is.EqualTo(name));
            Assert.That(model.forward(batch).shape, Is.EqualTo(new long[] { 5, 3 }), name);
        }
    }

    [Test]
    public void EveryModelRunsOnASchemaWithoutSequence()
    {
        using var scope = NewDisposeScope();
        var schema = ModelTestData.Schema(withSequence: false);
        using var batch = ModelTestData.RandomBatch(schema, 4, seed: 2);
        Assert.That(batch.Sequence, Is.Null);
        foreach (var (label, name, options) in ModelTestData.OptionSets())
        {
            using var model = ModelFactory.Create(name, schema, options);
            var logits = model.forward(batch);
            Assert.That(logits.shape, Is.EqualTo(new long[] { 4, 3 }), label);
            Assert.That(model.named_parameters().Any(p => p.name.StartsWith("sequence_encoder")), Is.False, label);
        }
    }

    [Test]
    public void DefaultsFollowFunRec()
    {
        var pep = (PepNetOptions)ModelFactory.DefaultOptions("pepnet");
        Assert.That((pep.EmbDim, pep.DnnUnits, pep.Dropout, pep.Gamma, pep.GatePosition),
            Is.EqualTo((8, new[] { 128, 64 }, 0.1, 2f, GatePosition.Output)));
        var apg = (ApgOptions)ModelFactory.DefaultOptions("apg");
        Assert.That((apg.DnnUnits, apg.Dropout, apg.MfK, apg.MfP, apg.Mode), Is.EqualTo((new[] { 256, 128 }, 0.2, 4, 4, ApgMode.UvSharedMfP)));
        var m2m = (M2MOptions)ModelFactory.DefaultOptions("m2m");
        Assert.That((m2m.NumExperts, m2m.ViewDim, m2m.ScenarioDim, m2m.MetaTowerDepth, m2m.MetaUnitDepth, m2m.Activation, m2m.Dropout),
            Is.EqualTo((4, 32, 16, 3, 3, Activation.LeakyRelu, 0.2)));
    }

    [Test]
    public void ConfigValuesAsYamlStringsBind()
    {
        var values = new Dictionary<string, object?>
        {
            ["dnn_units"] = new List<object> { "32", "16", "8" }, ["dropout"] = "0.25", ["gate_position"] = "input",
            ["activation"] = "leaky_relu", ["emb_dim"] = "6", ["gamma"] = 1.5,
        };
        var o = (PepNetOptions)ModelFactory.Options("pepnet", values);
        Assert.That((o.DnnUnits, o.Dropout, o.GatePosition, o.Activation, o.EmbDim, o.Gamma),
            Is.EqualTo((new[] { 32, 16, 8 }, 0.25, GatePosition.Input, Activation.LeakyRelu, 6, 1.5f)));
        Assert.That(((PepNetOptions)ModelFactory.DefaultOptions("pepnet")).DnnUnits, Is.EqualTo(new[] { 128, 64 }), "defaults untouched");
    }

    [Test]
    public void OptionsRoundTripThroughTheirDictionary()
    {
        var o = ModelFactory.Options("apg", new Dictionary<string, object?> { ["condition"] = "self", ["use_mf_p"] = false });
        var dict = OptionBinder.ToDictionary(o);
        Assert.That(dict["condition"], Is.EqualTo("self"));
        Assert.That(dict["activation"], Is.EqualTo("relu"));
        Assert.That(ModelFactory.Options("apg", dict!), Is.EqualTo(o).Using<ModelOptions>((a, b) =>
            OptionBinder.ToDictionary(a).All(kv => Equal(kv.Value, OptionBinder.ToDictionary(b)[kv.Key]))));
    }

    [Test]
    public void UnknownOptionKeyNamesTheKeyAndTheValidOnes()
    {
        var schema = ModelTestData.Schema();
        var e = Assert.Throws<ArgumentException>(() =>
            ModelFactory.Create("mmoe", schema, new Dictionary<string, object?> { ["num_expert"] = 3 }));
        Assert.That(e!.Message, Does.Contain("unknown option 'num_expert'"));
        Assert.That(e.Message, Does.Contain("num_experts").And.Contain("expert_units").And.Contain("emb_dim"));
    }

    [Test]
    public void BadOptionValueNamesTheKey()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            ModelFactory.Options("pepnet", new Dictionary<string, object?> { ["gate_position"] = "middle" }));
        Assert.That(e!.Message, Does.Contain("gate_position").And.Contain("middle").And.Contain("output"));
        e = Assert.Throws<ArgumentException>(() =>
            ModelFactory.Options("apg", new Dictionary<string, object?> { ["dnn_units"] = "256,x" }));
        Assert.That(e!.Message, Does.Contain("dnn_units"));
    }

    [Test]
    public void UnknownModelNamesTheValidOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelFactory.Create("star", ModelTestData.Schema()));
        Assert.That(e!.Message, Does.Contain("unknown model 'star'").And.Contain("pepnet").And.Contain("mmoe"));
    }

    [Test]
    public void MismatchedOptionsTypeIsRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelFactory.Create("apg", ModelTestData.Schema(), new PepNetOptions()));
        Assert.That(e!.Message, Does.Contain("ApgOptions"));
    }

    private static bool Equal(object a, object b) =>
        a is int[] x && b is int[] y ? x.SequenceEqual(y) : Equals(a, b);
}
