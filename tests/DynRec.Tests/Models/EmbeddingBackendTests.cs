using DynRec.Layers;
using DynRec.Models;
using DynRec.Ops;
using DynRec.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DynRec.Tests.Models;

// The table-batched (fused sparse optimizer) embedding backend against the dense nn.Embedding one.
[TestFixture]
public class EmbeddingBackendTests
{
    private static IEnumerable<TestCaseData> ForwardCases() =>
        ModelTestData.OptionSets()
            .Where(s => s.Label is "pepnet output gate" or "apg uv_shared mf_p group" or "apg uv_shared mf_p mix" or "m2m paper" or "dnn")
            .Select(s => new TestCaseData(s.Model, s.Options).SetArgDisplayNames(s.Label));

    private static FeatureEmbeddings EmbeddingsOf(nn.Module model) =>
        model.named_modules().Select(m => m.module).OfType<FeatureEmbeddings>().Single();

    [TestCaseSource(nameof(ForwardCases))]
    public void SameTablesGiveTheSameOutputs(string name, Dictionary<string, object?> options)
    {
        using var scope = NewDisposeScope();
        var schema = ModelTestData.Schema();
        manual_seed(5);
        using var dense = ModelFactory.Create(name, schema, options, Kernels.Reference);
        manual_seed(6);
        using var batched = ModelFactory.Create(name, schema, new Dictionary<string, object?>(options) { ["embedding_optimizer"] = "lazy_adam" },
            Kernels.Reference);
        var denseState = dense.state_dict();
        var batchedState = batched.state_dict();
        using (no_grad())
        {
            foreach (var (key, value) in denseState)
                if (!key.StartsWith("embeddings.", StringComparison.Ordinal)) batchedState[key].copy_(value);
            foreach (var field in schema.SparseFields)
                EmbeddingsOf(batched).Table(field.Name).copy_(EmbeddingsOf(dense).Table(field.Name));
        }
        dense.eval();
        batched.eval();
        using var batch = ModelTestData.RandomBatch(schema, 37, seed: 9);
        var expected = dense.forward(batch);
        var actual = batched.forward(batch);
        Assert.That((actual - expected).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-6f));
        // The training-mode path (through the fused autograd function) gives the same values too.
        dense.train();
        batched.train();
        random.manual_seed(1);
        var expectedTrain = dense.forward(batch);
        random.manual_seed(1);
        var actualTrain = batched.forward(batch);
        Assert.That((actualTrain - expectedTrain).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-6f));
    }

    [Test]
    public void TableBatchedNamesAndDenseNames()
    {
        var schema = ModelTestData.Schema();
        using var dense = ModelFactory.Create("pepnet", schema, new Dictionary<string, object?> { ["emb_dim"] = 4 });
        using var batched = ModelFactory.Create("pepnet", schema, new Dictionary<string, object?> { ["emb_dim"] = 4, ["embedding_optimizer"] = "rowwise_adagrad" });
        var d = dense.state_dict().Keys.Where(k => k.StartsWith("embeddings.")).ToList();
        var b = batched.state_dict().Keys.Where(k => k.StartsWith("embeddings.")).ToList();
        Assert.That(d, Is.EquivalentTo(schema.SparseFields.Select(f => $"embeddings.{f.Name}.weight")));
        Assert.That(b, Is.EquivalentTo(new[]
        {
            "embeddings.tables.weights", "embeddings.tables.exp_avg", "embeddings.tables.exp_avg_sq",
            "embeddings.tables.adagrad_sum", "embeddings.tables.row_steps", "embeddings.tables.step",
        }));
        // Tables back to back; the sequence shares video_id's rows.
        Assert.That(batched.state_dict()["embeddings.tables.weights"].shape[0], Is.EqualTo(schema.SparseFields.Sum(f => f.VocabularySize) * 4));
        Assert.That(batched.state_dict()["embeddings.tables.adagrad_sum"].shape[0], Is.EqualTo(schema.SparseFields.Sum(f => f.VocabularySize)));
        // The dense optimizer never sees the fused table.
        var denseNames = Trainer.DenseParameters(batched).Select(p => p.Name).ToList();
        Assert.That(denseNames, Has.None.StartsWith("embeddings."));
        Assert.That(Trainer.DenseParameters(dense).Select(p => p.Name), Has.Some.StartsWith("embeddings."));
    }

    [TestCase("pepnet")]
    [TestCase("m2m")]
    public void LazyAdamTablesTrainAndLowerTheLoss(string name)
    {
        manual_seed(3);
        var schema = ModelTestData.Schema();
        using var table = ModelTestData.PlantedTable(schema, seed: 17);
        var options = ModelTestData.OptionSets().First(s => s.Model == name).Options;
        using var model = ModelFactory.Create(name, schema, new Dictionary<string, object?>(options)
        {
            ["dropout"] = 0.0, ["embedding_optimizer"] = "lazy_adam", ["embedding_lr"] = 0.01,
        });
        var embeddings = EmbeddingsOf(model);
        using var before = embeddings.Table("user_id").detach().clone();
        using var eval = ModelTestData.PlantedBatch(schema, 512, seed: 1000, table);
        var dense = Trainer.DenseParameters(model);
        using var optimizer = new DynRec.Optim.FusedAdam(dense.Select(p => p.Parameter), lr: 1e-2);

        var initial = ModelTestData.EvalLoss(model, eval);
        model.train();
        for (var step = 0; step < 150; step++)
        {
            using var scope = NewDisposeScope();
            using var batch = ModelTestData.PlantedBatch(schema, 128, seed: step, table);
            optimizer.ZeroGrad();
            F.binary_cross_entropy_with_logits(model.forward(batch), batch.Labels).backward();
            optimizer.Step();
        }
        var final = ModelTestData.EvalLoss(model, eval);
        Assert.That(final, Is.LessThan(initial * 0.8), $"eval loss {initial:F4} -> {final:F4}");
        var tables = model.named_parameters().Single(p => p.name == "embeddings.tables.weights").parameter;
        Assert.That(tables.grad, Is.Null, "the fused backward leaves no dense gradient");
        Assert.That(embeddings.Table("user_id").eq(before).all().item<bool>(), Is.False, "the sparse optimizer moved the rows");
        Assert.That(embeddings.Table("user_id")[0].abs().sum().item<float>(), Is.EqualTo(0f), "padding row stays zero");
        Assert.That(model.state_dict()["embeddings.tables.step"].item<long>(), Is.EqualTo(150), "one sparse step per batch");
    }
}
