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
}
