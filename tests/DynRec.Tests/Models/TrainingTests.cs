using DynRec.Models;
using DynRec.Ops;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DynRec.Tests.Models;

// A few hundred Adam steps on a planted problem (labels a fixed function of
// scenario, user and item, different per task) lower the held-out loss clearly.
[TestFixture]
public class TrainingTests
{
    private const int Steps = 300;

    [TestCaseSource(typeof(ModelTestData), nameof(ModelTestData.TrainingCases))]
    public void TrainingOnPlantedProblemLowersTheLoss(string name, Dictionary<string, object?> options, double bound)
    {
        manual_seed(3);
        var schema = ModelTestData.Schema();
        using var table = ModelTestData.PlantedTable(schema, seed: 17);
        // Dropout off: the test is about the optimization signal, not regularization.
        var withoutDropout = new Dictionary<string, object?>(options) { ["dropout"] = 0.0 };
        using var model = ModelFactory.Create(name, schema, withoutDropout, Kernels.Native);
        using var eval = ModelTestData.PlantedBatch(schema, 512, seed: 1000, table);
        var optimizer = optim.Adam(model.parameters(), lr: 1e-2);

        var initial = ModelTestData.EvalLoss(model, eval);
        model.train();
        for (var step = 0; step < Steps; step++)
        {
            using var scope = NewDisposeScope();
            using var batch = ModelTestData.PlantedBatch(schema, 128, seed: step, table);
            optimizer.zero_grad();
            F.binary_cross_entropy_with_logits(model.forward(batch), batch.Labels).backward();
            optimizer.step();
        }
        var final = ModelTestData.EvalLoss(model, eval);
        TestContext.Out.WriteLine($"{TestContext.CurrentContext.Test.Name}: held-out BCE {initial:F4} -> {final:F4}");
        Assert.That(initial, Is.GreaterThan(0.68), "an untrained model predicts ~0.5 everywhere");
        Assert.That(final, Is.LessThan(bound), $"loss {initial:F4} -> {final:F4}");
    }
}
