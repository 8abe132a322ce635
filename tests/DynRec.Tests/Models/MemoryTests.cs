using DynRec.Models;
using DynRec.Ops;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DynRec.Tests.Models;

// Training with one dispose scope per batch leaves the number of live tensors
// flat: nothing a forward/backward/step allocates outlives its batch.
[TestFixture]
public class MemoryTests
{

    [TestCase("pepnet", Kernels.Native)]
    [TestCase("pepnet", Kernels.Reference)]
    [TestCase("apg", Kernels.Native)]
    [TestCase("m2m", Kernels.Native)]
    public void LiveTensorCountStaysFlatOver500Steps(string name, Kernels kernels)
    {
        manual_seed(5);
        var schema = ModelTestData.Schema();
        var options = ModelTestData.OptionSets().First(s => s.Model == name).Options;
        using var model = ModelFactory.Create(name, schema, options, kernels);
        using var optimizer = optim.Adam(model.parameters(), lr: 1e-3);
        model.train();
        long? afterWarmup = null;
        for (var step = 0; step < 500; step++)
        {
            using (var scope = NewDisposeScope())
            {
                using var batch = ModelTestData.RandomBatch(schema, 32, seed: step);
                optimizer.zero_grad();
                F.binary_cross_entropy_with_logits(model.forward(batch), batch.Labels).backward();
                optimizer.step();
            }
            // After the first steps (optimizer state created), the count must not move.
            if (step == 9) afterWarmup = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        }
        var final = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        Assert.That(final, Is.EqualTo(afterWarmup), $"live tensors after step 10: {afterWarmup}, after step 500: {final}");
    }
    // A native op's backward disposes its temporaries and hands its gradients to
    // LibTorch without leaving them in the caller's scope (so a step's gradients
    // are not all kept until the scope ends, nor, on a thread without a scope
    // such as LibTorch's CUDA backward thread, left to the finalizer).
    [TestCase("pepnet", null)]
    [TestCase("pepnet", "lazy_adam")]
    [TestCase("apg", null)]
    [TestCase("m2m", null)]
    public void NativeBackwardLeavesNothingInTheCallersScope(string name, string? embeddingOptimizer)
    {
        manual_seed(6);
        var schema = ModelTestData.Schema();
        var options = new Dictionary<string, object?>(ModelTestData.OptionSets().First(s => s.Model == name).Options);
        if (embeddingOptimizer is not null) options["embedding_optimizer"] = embeddingOptimizer;
        using var model = ModelFactory.Create(name, schema, options, Kernels.Native);
        model.train();
        for (var step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            using var batch = ModelTestData.RandomBatch(schema, 16, seed: step);
            var loss = F.binary_cross_entropy_with_logits(model.forward(batch), batch.Labels);
            var before = scope.DisposablesCount;
            loss.backward();
            Assert.That(scope.DisposablesCount, Is.EqualTo(before), $"step {step}: backward left tensors in the caller's scope");
            Assert.That(model.parameters().Where(p => p.grad is not null).All(p => p.grad!.isfinite().all().item<bool>()), Is.True);
        }
    }
}
