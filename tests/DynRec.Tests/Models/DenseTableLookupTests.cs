using DynRec.Layers;
using DynRec.Ops;
using static TorchSharp.torch;

namespace DynRec.Tests.Models;

/// <summary>
/// The dense embedding backend's one-call native lookup (TableLookup over the per-field nn.Embedding tables)
/// against calling each nn.Embedding: outputs, every table's gradient, padding-row semantics, bad ids.
/// </summary>
public class DenseTableLookupTests
{
    private static FeatureEmbeddings Embeddings(Kernels kernels)
    {
        manual_seed(3);
        return new FeatureEmbeddings(ModelTestData.Schema(), 5) { Kernels = kernels };
    }

    [Test]
    public void NativeLookupMatchesPerFieldEmbeddingsInValuesAndGradients()
    {
        using var scope = NewDisposeScope();
        using var native = Embeddings(Kernels.Native);
        using var reference = Embeddings(Kernels.Reference);
        // Padding rows perturbed: nn.Embedding reads row 0 whatever it holds (and never gives it a gradient).
        using (no_grad())
            foreach (var (n, r) in native.parameters().Zip(reference.parameters()))
            {
                n.add_(randn_like(n) * 0.1);
                r.copy_(n);
            }
        using var batch = ModelTestData.RandomBatch(ModelTestData.Schema(), 29, seed: 4);
        var a = native.Lookup(batch);
        var b = reference.Lookup(batch);
        Assert.That(a.AllFields.allclose(b.AllFields, rtol: 0, atol: 0), "fields");
        Assert.That(a.Sequence!.allclose(b.Sequence!, rtol: 0, atol: 0), "sequence");
        var probeFields = randn_like(a.AllFields);
        var probeSequence = randn_like(a.Sequence!);
        ((a.AllFields * probeFields).sum() + (a.Sequence! * probeSequence).sum()).backward();
        ((b.AllFields * probeFields).sum() + (b.Sequence! * probeSequence).sum()).backward();
        foreach (var ((name, n), (_, r)) in native.named_parameters().Zip(reference.named_parameters()))
        {
            Assert.That(n.grad, Is.Not.Null, name);
            Assert.That((n.grad! - r.grad!).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-6f), name);
            Assert.That(n.grad![0].abs().max().item<float>(), Is.Zero, $"{name}: the padding row got a gradient");
        }
        // Eval (no autograd) takes the plain native call: same values.
        using (no_grad())
            Assert.That(native.Lookup(batch).AllFields.allclose(b.AllFields, rtol: 0, atol: 0), "no-grad path");
    }

    [TestCase("pepnet")]
    [TestCase("apg")]
    [TestCase("m2m")]
    [TestCase("dnn")]
    [TestCase("mmoe")]
    public void TheModelsKernelSwitchReachesTheEmbeddings(string name)
    {
        using var model = DynRec.Models.ModelFactory.Create(name, ModelTestData.Schema(), kernels: Kernels.Reference);
        var embeddings = model.modules().OfType<FeatureEmbeddings>().Single();
        Assert.That(embeddings.Kernels, Is.EqualTo(Kernels.Reference));
        model.Kernels = Kernels.Native;
        Assert.That(embeddings.Kernels, Is.EqualTo(Kernels.Native));
    }

    [Test]
    public void AnIdOutsideItsVocabularyIsAnArgumentExceptionNamingTheField()
    {
        using var scope = NewDisposeScope();
        using var native = Embeddings(Kernels.Native);
        var schema = ModelTestData.Schema();
        using var batch = ModelTestData.RandomBatch(schema, 3, seed: 1);
        var field = schema.SparseFields[2];
        batch.Sparse[1, 2] = tensor((long)field.VocabularySize);
        Assert.That(() => native.Lookup(batch), Throws.ArgumentException.With.Message.Contains($"embedding field '{field.Name}'"));
    }
}
