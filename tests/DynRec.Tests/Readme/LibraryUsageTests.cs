using DynRec.Config;
using DynRec.Data;
using DynRec.Data.Synthetic;
using DynRec.Models;
using DynRec.Ops;
using DynRec.Training;
using DynRec.Training.Checkpointing;
using TorchSharp;

namespace DynRec.Tests.Readme;

/// <summary>The README's "Training from .NET" snippet, line for line, on a small synthetic set.</summary>
public class LibraryUsageTests
{
    [Test]
    public void TrainingFromDotNetSnippetRuns()
    {
        var dir = Directory.CreateTempSubdirectory("dynrec-readme-").FullName;
        try
        {
            var options = new LoadOptions
            {
                SyntheticDirectory = Path.Combine(dir, "synthetic"),
                Synthetic = new SyntheticConfig { Seed = 5, Users = 80, Videos = 60, Days = 5, Rows = 4000 },
            };
            // --- README snippet (with the small set above instead of the default one) ---
            CpuThreads.Apply(0);
            var data = DataSource.Load("synthetic", options);                  // or a KuaiRand folder
            var config = RunConfig.Load("pepnet", null, ["train.epochs=2", "train.validation_days=1", "train.batch_size=256"]);
            torch.random.manual_seed(config.Train.Seed);
            using var model = ModelFactory.Create(config.ModelName, data.Schema, config.Model, Kernels.Native);
            using var optimizer = Trainer.CreateOptimizer(model, config.Train);
            var store = new CheckpointStore(Path.Combine(dir, "run", "checkpoints"));
            var result = new Trainer(model, config, optimizer, torch.CPU).Fit(data.Train, data.Test, store);
            var auc = result.TestMetrics!["auc_is_click"];                      // the best epoch (by validation) on the test day
            var probabilities = Evaluator.Predict(model, data.Test, 8192, torch.CPU);
            // --- end of snippet ---
            Assert.That(auc, Is.InRange(0.5, 1.0));
            Assert.That(result.BestEpoch, Is.InRange(1, 2));
            Assert.That(probabilities.Rows, Is.EqualTo(data.Test.Rows));
            Assert.That(CheckpointStore.Resolve(store.Directory), Does.Contain("epoch-"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
