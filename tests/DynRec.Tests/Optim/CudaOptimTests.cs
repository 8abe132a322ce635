using DynRec.Interop;
using DynRec.Layers;
using DynRec.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Tests.Optim;

/// <summary>The CUDA paths against the CPU paths (skipped without a GPU and a CUDA build).</summary>
[TestFixture]
public class CudaOptimTests
{
    [SetUp]
    public void RequireCuda()
    {
        if (!cuda.is_available()) Assert.Ignore("TorchSharp sees no CUDA device");
        if (Native.CudaDeviceCount == 0) Assert.Ignore("libdynrec was built without CUDA or sees no device");
    }

    [Test]
    public void FusedAdamWOnCudaMatchesCpu()
    {
        using var scope = NewDisposeScope();
        var shapes = new[] { new[] { 13L, 7L }, new[] { 5L }, new[] { 129L, 131L } };
        var cpuParams = shapes.Select((s, i) => new Parameter(TestUtil.Randn(i, s))).ToArray();
        var gpuParams = cpuParams.Select(p => new Parameter(p.detach().cuda())).ToArray();
        using var onCpu = new FusedAdamW(cpuParams, lr: 1e-2, weightDecay: 0.05, maxGradNorm: 1.0);
        using var onGpu = new FusedAdamW(gpuParams, lr: 1e-2, weightDecay: 0.05, maxGradNorm: 1.0);
        for (var step = 1; step <= 10; step++)
        {
            for (var i = 0; i < shapes.Length; i++)
            {
                var g = TestUtil.Randn(100 * step + i, shapes[i]);
                cpuParams[i].grad = g;
                gpuParams[i].grad = g.cuda();
            }
            onCpu.Step();
            onGpu.Step();
            Assert.That(onGpu.LastGradNorm, Is.EqualTo(onCpu.LastGradNorm).Within(1e-5 * onCpu.LastGradNorm));
        }
        for (var i = 0; i < shapes.Length; i++)
            Assert.That(TestUtil.RelativeError(gpuParams[i].cpu(), cpuParams[i]), Is.LessThanOrEqualTo(1e-5), $"parameter {i}");
    }

    [TestCase(SparseOptimizerKind.Sgd)]
    [TestCase(SparseOptimizerKind.RowWiseAdagrad)]
    [TestCase(SparseOptimizerKind.LazyAdam)]
    public void TableBatchedEmbeddingOnCudaMatchesCpu(SparseOptimizerKind kind)
    {
        using var scope = NewDisposeScope();
        var fields = new[]
        {
            new EmbeddingFieldConfig("user", 100, 8),
            new EmbeddingFieldConfig("seq", 40, 33, EmbeddingPooling.Mean, BagSize: 5),
            new EmbeddingFieldConfig("last", 40, 33, EmbeddingPooling.None, BagSize: 2, SharesTableWith: "seq"),
        };
        var opt = new SparseOptimizerConfig(kind, 0.05f, Eps: 1e-6f);
        manual_seed(3);
        using var onCpu = new TableBatchedEmbedding(fields, opt, initStd: 0.5f);
        manual_seed(3);
        using var onGpu = new TableBatchedEmbedding(fields, opt, initStd: 0.5f);
        onGpu.to(CUDA);
        var g = new Generator(9);
        for (var step = 1; step <= 3; step++)
        {
            var ids = randint(0, 40, new[] { 257L, onCpu.Slots }, dtype: ScalarType.Int64, generator: g);
            var probe = randn(new[] { 257L, onCpu.OutputWidth }, generator: g);
            var outCpu = onCpu.forward(ids);
            var outGpu = onGpu.forward(ids.cuda());
            Assert.That(TestUtil.RelativeError(outGpu.cpu(), outCpu), Is.LessThanOrEqualTo(1e-6), $"forward, step {step}");
            (outCpu * probe).sum().backward();
            (outGpu * probe.cuda()).sum().backward();
            Assert.That(TestUtil.RelativeError(onGpu.Weights.detach().cpu(), onCpu.Weights.detach()), Is.LessThanOrEqualTo(1e-5), $"weights, step {step}");
        }
        var bad = zeros(new[] { 4L, onCpu.Slots }, dtype: ScalarType.Int64);
        bad[2, 0] = tensor(100L);
        Assert.That(() => onGpu.forward(bad.cuda()), Throws.InstanceOf<ArgumentException>().With.Message.Contains("'user'"));
    }
}
