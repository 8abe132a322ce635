using DynRec.Layers;
using DynRec.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Tests.Optim;

[TestFixture]
public class TableBatchedEmbeddingTests
{
    // Exact equality of every element (shapes must match).
    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    private static EmbeddingFieldConfig[] Fields() => new[]
    {
        new EmbeddingFieldConfig("user_id", 50, 8),
        new EmbeddingFieldConfig("video_id", 30, 5, EmbeddingPooling.Mean),
        new EmbeddingFieldConfig("tab", 4, 3),
        new EmbeddingFieldConfig("clicks", 30, 5, EmbeddingPooling.Mean, BagSize: 6, SharesTableWith: "video_id"),
        new EmbeddingFieldConfig("recent", 30, 5, EmbeddingPooling.None, BagSize: 3, SharesTableWith: "video_id"),
        new EmbeddingFieldConfig("tags", 17, 7, EmbeddingPooling.Sum, BagSize: 4),
    };

    // Random ids with ~25% padding and many duplicates (small vocabularies).
    private static Tensor Ids(TableBatchedEmbedding m, long batch, long seed)
    {
        var g = new Generator((ulong)seed);
        var cols = new List<Tensor>();
        foreach (var f in m.Fields)
        {
            var ids = randint(1, f.VocabularySize, new[] { batch, f.BagSize }, dtype: ScalarType.Int64, generator: g);
            var pad = rand(new[] { batch, f.BagSize }, generator: g).lt(0.25);
            cols.Add(ids.masked_fill(pad, 0));
        }
        return cat(cols, 1);
    }

    private static TableBatchedEmbedding Make(SparseOptimizerConfig opt, long seed)
    {
        manual_seed(seed);
        var m = new TableBatchedEmbedding(Fields(), opt, initStd: 0.5f);
        return m;
    }

    // Rows of each table touched by a batch (global row indices), from the ids.
    private static bool[] Touched(TableBatchedEmbedding m, Tensor ids)
    {
        var total = m.Fields.Where(f => f.SharesTableWith is null).Sum(f => f.VocabularySize);
        var touched = new bool[total];
        long slot = 0;
        foreach (var f in m.Fields)
        {
            var cols = ids.narrow(1, slot, f.BagSize).reshape(-1).data<long>().ToArray();
            var b = m.RowBase(f.Name);
            foreach (var id in cols) if (id != 0) touched[b + id] = true;
            slot += f.BagSize;
        }
        return touched;
    }

    // The sparse optimizers written out in plain tensor math over a dense gradient, touched rows only.
    private static void DenseReferenceStep(TableBatchedEmbedding m, Tensor grad, bool[] touched, Tensor w,
        Tensor expAvg, Tensor expAvgSq, Tensor adagrad, Tensor rowSteps, long step)
    {
        var o = m.Optimizer;
        foreach (var f in m.Fields.Where(f => f.SharesTableWith is null))
        {
            var rows = f.VocabularySize;
            var dim = f.Dim;
            var b = m.RowBase(f.Name);
            var off = m.Fields.Where(x => x.SharesTableWith is null).TakeWhile(x => x.Name != f.Name).Sum(x => x.VocabularySize * x.Dim);
            for (long r = 0; r < rows; r++)
            {
                if (!touched[b + r]) continue;
                var wr = w.narrow(0, off + r * dim, dim);
                var g = grad.narrow(0, off + r * dim, dim);
                switch (o.Kind)
                {
                    case SparseOptimizerKind.Sgd:
                        wr.sub_(g * o.LearningRate);
                        break;
                    case SparseOptimizerKind.RowWiseAdagrad:
                        var s = adagrad.narrow(0, b + r, 1);
                        s.add_((g * g).mean());
                        wr.sub_(g * o.LearningRate / (s.sqrt() + o.Eps));
                        break;
                    default:
                        var k = step;
                        if (o.PerRowSteps)
                        {
                            rowSteps[b + r] += 1;
                            k = rowSteps[b + r].item<long>();
                        }
                        var m1 = expAvg.narrow(0, off + r * dim, dim);
                        var v1 = expAvgSq.narrow(0, off + r * dim, dim);
                        m1.mul_(o.Beta1).add_(g * (1 - o.Beta1));
                        v1.mul_(o.Beta2).add_(g * g * (1 - o.Beta2));
                        var bc1 = 1 - Math.Pow(o.Beta1, k);
                        var bc2 = 1 - Math.Pow(o.Beta2, k);
                        wr.sub_(m1 / (v1.sqrt() + o.Eps) * (o.LearningRate * Math.Sqrt(bc2) / bc1));
                        break;
                }
            }
        }
    }

    private static readonly SparseOptimizerConfig[] Optimizers =
    {
        new(SparseOptimizerKind.Sgd, 0.1f),
        new(SparseOptimizerKind.RowWiseAdagrad, 0.1f, Eps: 1e-6f),
        new(SparseOptimizerKind.LazyAdam, 0.05f),
        new(SparseOptimizerKind.LazyAdam, 0.05f, PerRowSteps: true),
    };

    [TestCaseSource(nameof(Optimizers))]
    public void FusedSparseUpdateMatchesDenseReferenceAndLeavesOtherRowsBitIdentical(SparseOptimizerConfig opt)
    {
        using var scope = NewDisposeScope();
        using var fused = Make(opt, 7);
        using var dense = Make(opt, 7);
        dense.Fused = false;
        var w = dense.Weights.detach().clone();
        var expAvg = zeros_like(w);
        var expAvgSq = zeros_like(w);
        var adagrad = zeros(fused.AdagradSum.shape[0] > 0 ? fused.AdagradSum.shape[0] : 1);
        var rowSteps = zeros(fused.RowSteps.shape[0] > 0 ? fused.RowSteps.shape[0] : 1, dtype: ScalarType.Int64);
        for (var step = 1; step <= 3; step++)
        {
            var ids = Ids(fused, 33, step);
            var probe = TestUtil.Randn(100 + step, 33, fused.OutputWidth);
            var before = fused.Weights.detach().clone();

            (fused.forward(ids) * probe).sum().backward();
            Assert.That(fused.Weights.grad, Is.Null, "fused mode gives no dense gradient");

            dense.Weights.grad?.zero_();
            using (no_grad()) dense.Weights.copy_(w);
            (dense.forward(ids) * probe).sum().backward();
            var touched = Touched(fused, ids);
            using (no_grad())
                DenseReferenceStep(fused, dense.Weights.grad!, touched, w, expAvg, expAvgSq, adagrad, rowSteps, step);

            var now = fused.Weights.detach();
            Assert.That(TestUtil.RelativeError(now, w), Is.LessThanOrEqualTo(1e-5), $"step {step}: touched rows");
            // Rows not touched this step: bit-identical to before the step.
            var unchanged = 0;
            foreach (var f in fused.Fields.Where(f => f.SharesTableWith is null))
            {
                var tNow = fused.Table(f.Name).detach();
                var b = fused.RowBase(f.Name);
                var tBefore = before.narrow(0, 0, before.shape[0]);
                var offset = fused.Fields.Where(x => x.SharesTableWith is null).TakeWhile(x => x.Name != f.Name).Sum(x => x.VocabularySize * x.Dim);
                for (long r = 0; r < f.VocabularySize; r++)
                {
                    if (touched[b + r]) continue;
                    Assert.That(Same(tNow[r], tBefore.narrow(0, offset + r * f.Dim, f.Dim)), Is.True,
                        $"step {step}: untouched row {r} of {f.Name} changed");
                    unchanged++;
                }
            }
            Assert.That(unchanged, Is.GreaterThan(0));
            // Padding rows stay zero.
            foreach (var f in fused.Fields) Assert.That(fused.Table(f.Name)[0].abs().sum().item<float>(), Is.EqualTo(0f));
        }
        Assert.That(fused.StepCount, Is.EqualTo(3));
    }

    [Test]
    public void NativeForwardMatchesReferenceForward()
    {
        using var scope = NewDisposeScope();
        using var m = Make(new SparseOptimizerConfig(SparseOptimizerKind.Sgd, 0.1f), 3);
        var ids = Ids(m, 1000, 5);
        Tensor native, reference;
        using (no_grad())
        {
            native = m.forward(ids);
            m.Fused = false;
            reference = m.forward(ids);
        }
        Assert.That(native.shape, Is.EqualTo(new[] { 1000L, m.OutputWidth }));
        Assert.That(TestUtil.RelativeError(native, reference), Is.LessThanOrEqualTo(1e-6));
        var video = m.ColumnOffset("video_id");
        var first = ids[0, 1].item<long>();
        var expected = first == 0 ? zeros(5) : m.Table("video_id")[first];
        Assert.That(TestUtil.RelativeError(native[0].narrow(0, video, 5), expected), Is.LessThanOrEqualTo(1e-7));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void InvalidIdsAreRejectedNamingTheField(bool fusedMode)
    {
        using var scope = NewDisposeScope();
        using var m = Make(new SparseOptimizerConfig(SparseOptimizerKind.LazyAdam, 0.1f), 3);
        m.Fused = fusedMode;
        var ids = Ids(m, 8, 1);
        var tagsColumn = m.Fields.TakeWhile(f => f.Name != "tags").Sum(f => f.BagSize) + 2;
        ids[5, tagsColumn] = tensor(17L);
        var before = m.Weights.detach().clone();
        Assert.That(() => m.forward(ids), Throws.InstanceOf<ArgumentException>().With.Message.Contains("'tags'"));
        ids[5, tagsColumn] = tensor(-3L);
        Assert.That(() => m.forward(ids), Throws.InstanceOf<ArgumentException>().With.Message.Contains("'tags'"));
        Assert.That(Same(m.Weights, before), Is.True);
    }

    [Test]
    public void BadConfigurationIsRejected()
    {
        var opt = new SparseOptimizerConfig(SparseOptimizerKind.Sgd, 0.1f);
        Assert.That(() => new TableBatchedEmbedding(new[] { new EmbeddingFieldConfig("a", 10, 4, SharesTableWith: "b") }, opt),
            Throws.ArgumentException.With.Message.Contains("'b'"));
        Assert.That(() => new TableBatchedEmbedding(new[] { new EmbeddingFieldConfig("a", 1, 4) }, opt),
            Throws.ArgumentException.With.Message.Contains("'a'"));
        using var m = new TableBatchedEmbedding(new[] { new EmbeddingFieldConfig("a", 10, 4) }, opt);
        Assert.That(() => m.forward(zeros(3, 2, dtype: ScalarType.Int64)), Throws.ArgumentException.With.Message.Contains("ids"));
    }

    [Test]
    public void ParametersAndOptimizerStateHavePyTorchStyleNames()
    {
        using var scope = NewDisposeScope();
        using var m = Make(new SparseOptimizerConfig(SparseOptimizerKind.LazyAdam, 0.05f, PerRowSteps: true), 2);
        Assert.That(m.named_parameters().Select(p => p.name), Is.EqualTo(new[] { "weights" }));
        var buffers = m.named_buffers().Select(b => b.name).ToArray();
        Assert.That(buffers, Is.SupersetOf(new[] { "exp_avg", "exp_avg_sq", "row_steps", "step" }));
        var ids = Ids(m, 16, 4);
        (m.forward(ids) * TestUtil.Randn(1, 16, m.OutputWidth)).sum().backward();
        var state = m.state_dict();
        Assert.That(state["step"].item<long>(), Is.EqualTo(1));
        Assert.That(state["row_steps"].sum().item<long>(), Is.GreaterThan(0));
        Assert.That(state["exp_avg"].abs().sum().item<float>(), Is.GreaterThan(0f));
        // The per-table view aliases the flat parameter.
        Assert.That(m.Table("tags").shape, Is.EqualTo(new[] { 17L, 7L }));
        using (no_grad()) m.Table("tags")[3].fill_(42f);
        Assert.That(m.Weights.detach().eq(42f).sum().item<long>(), Is.EqualTo(7));
    }
}
