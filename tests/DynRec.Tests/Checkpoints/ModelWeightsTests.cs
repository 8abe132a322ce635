using DynRec.Checkpoints;
using DynRec.Models;
using DynRec.Tests.Models;
using static TorchSharp.torch;

namespace DynRec.Tests.Checkpoints;

[TestFixture]
public class ModelWeightsTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("dynrec-weights-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [TestCaseSource(typeof(ModelTestData), nameof(ModelTestData.OptionCases))]
    public void SaveThenLoadGivesIdenticalPredictions(string name, Dictionary<string, object?> options)
    {
        using var scope = NewDisposeScope();
        var schema = ModelTestData.Schema();
        manual_seed(1);
        using var original = ModelFactory.Create(name, schema, options);
        manual_seed(2);
        using var restored = ModelFactory.Create(name, schema, options);
        original.eval();
        restored.eval();
        using var batch = ModelTestData.RandomBatch(schema, 19, seed: 4);
        var expected = original.forward(batch).detach();
        Assert.That(TestUtil.Identical(restored.forward(batch), expected), Is.False, "differently seeded models differ before loading");

        var path = Path.Combine(_dir, "model.safetensors");
        ModelWeights.Save(original, path, new Dictionary<string, string> { ["model"] = name });
        var metadata = ModelWeights.Load(restored, path);

        Assert.That(TestUtil.Identical(restored.forward(batch), expected), Is.True, "identical predictions after loading");
        Assert.That(metadata["model"], Is.EqualTo(name));
        Assert.That(Directory.GetFiles(_dir), Is.EqualTo(new[] { path }), "no temp file left behind");
    }

    [Test]
    public void MissingTensorErrorNamesIt()
    {
        using var scope = NewDisposeScope();
        var schema = ModelTestData.Schema();
        using var model = ModelFactory.Create("pepnet", schema, ModelTestData.OptionSets().First().Options);
        var path = Path.Combine(_dir, "partial.safetensors");
        SafeTensors.Save(path, ModelWeights.State(model).Where(s => s.Key != "ppnet.gates.1.fc2.bias"));
        var e = Assert.Throws<InvalidDataException>(() => ModelWeights.Load(model, path));
        Assert.That(e!.Message, Does.Contain("missing tensor 'ppnet.gates.1.fc2.bias'"));
    }

    [Test]
    public void WrongShapeErrorNamesTheTensorAndBothShapes()
    {
        using var scope = NewDisposeScope();
        var schema = ModelTestData.Schema();
        using var model = ModelFactory.Create("apg", schema, ModelTestData.OptionSets().First(s => s.Model == "apg").Options);
        var state = ModelWeights.State(model).ToDictionary(s => s.Key, s => s.Value);
        var name = "layers.1.shared_pm.weight";
        var shape = state[name].shape;
        state[name] = zeros(shape[0] + 1, shape[1]);
        var path = Path.Combine(_dir, "bad.safetensors");
        SafeTensors.Save(path, state);
        var before = model.named_parameters().First().parameter.clone();
        var e = Assert.Throws<InvalidDataException>(() => ModelWeights.Load(model, path));
        Assert.That(e!.Message, Does.Contain($"tensor '{name}' has shape [{shape[0] + 1}, {shape[1]}]"));
        Assert.That(e.Message, Does.Contain($"expects [{shape[0]}, {shape[1]}]"));
        Assert.That(TestUtil.Identical(model.named_parameters().First().parameter, before), Is.True, "nothing loaded on failure");
    }

    [Test]
    public void UnexpectedTensorErrorNamesIt()
    {
        using var scope = NewDisposeScope();
        var schema = ModelTestData.Schema();
        using var model = ModelFactory.Create("dnn", schema);
        var state = ModelWeights.State(model).ToDictionary(s => s.Key, s => s.Value);
        state["towers.9.layers.0.weight"] = zeros(2, 2);
        var path = Path.Combine(_dir, "extra.safetensors");
        SafeTensors.Save(path, state);
        var e = Assert.Throws<InvalidDataException>(() => ModelWeights.Load(model, path));
        Assert.That(e!.Message, Does.Contain("unexpected tensor 'towers.9.layers.0.weight'"));
    }
}
