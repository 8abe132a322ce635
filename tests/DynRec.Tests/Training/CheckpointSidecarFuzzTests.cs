using DynRec.Cli;
using DynRec.Config;
using DynRec.Training;
using DynRec.Training.Checkpointing;

namespace DynRec.Tests.Training;

/// <summary>
/// Seeded corruptions of checkpoint.json (values nulled, retyped or removed anywhere in the
/// tree, bytes dropped or replaced): reading it and using what `eval`/`--resume` use (the
/// schema check, the schema, the config, the history) must succeed or fail with an exception
/// the CLI reports as one line (<see cref="CliErrors.IsUserError"/>) -- never a
/// NullReferenceException or another stack trace.
/// </summary>
public class CheckpointSidecarFuzzTests
{
    [Test]
    public void CorruptedSidecarsReadOrFailAsUserErrors()
    {
        var valid = new CheckpointInfo
        {
            Model = "dnn",
            ConfigYaml = RunConfig.Load("dnn", null, []).ToYaml(),
            Schema = SchemaInfo.From(FakeBatchSource.DefaultSchema),
            Epoch = 2,
            Step = 20,
            InProgress = new EpochProgress(3, 100, 12.5, 100),
            Optimizer = "adam",
            Rng = new RngInfo(1, 2),
            EarlyStopping = new EarlyStoppingInfo("auc_macro", 0.7, 2, 0),
            History = [new EpochRecord(2, 20, 0.5, 0.6, new() { ["auc_macro"] = 0.7 }, 1.0)],
        }.ToJson();
        var rng = new Random(20261128);
        int read = 0, rejected = 0;
        for (var c = 0; c < 400; c++)
        {
            var (json, what) = JsonCorruption.Corrupt(valid, rng);
            try
            {
                var info = CheckpointInfo.FromJson(json, "checkpoint.json");
                _ = info.Schema.Difference(FakeBatchSource.DefaultSchema);
                _ = info.Schema.ToSchema();
                _ = RunConfig.FromYaml(info.ConfigYaml, "checkpoint.json");
                _ = info.History.Sum(h => h.Epoch) + info.Model.Length + info.Optimizer.Length + info.Rng.Seed
                    + info.EarlyStopping.Metric.Length;
                read++;
            }
            catch (Exception e) when (CliErrors.IsUserError(e))
            {
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"case {c} ({what}): {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }
        TestContext.Out.WriteLine($"400 corrupted sidecars: {read} read, {rejected} rejected");
        Assert.That(rejected, Is.GreaterThan(100));
    }
}
