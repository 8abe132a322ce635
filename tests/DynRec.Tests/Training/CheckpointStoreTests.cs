using DynRec.Config;
using DynRec.Training;
using DynRec.Training.Checkpointing;
using static TorchSharp.torch;

namespace DynRec.Tests.Training;

public class CheckpointStoreTests
{
    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("dynrec-ckpt-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    private static Checkpoint Make(int epoch, float value)
    {
        var info = new CheckpointInfo
        {
            Model = "dnn",
            ConfigYaml = RunConfig.Load("dnn", null, []).ToYaml(),
            Schema = SchemaInfo.From(FakeBatchSource.DefaultSchema),
            Epoch = epoch,
            Step = epoch * 10L,
            Optimizer = "adam",
            Rng = new RngInfo(1, epoch),
            EarlyStopping = new EarlyStoppingInfo("auc_macro", 0.5 + epoch / 100.0, epoch, 0),
            History = [new EpochRecord(epoch, epoch * 10L, 0.5, 0.6, new() { ["auc_macro"] = double.NaN }, 1.0)],
        };
        return new Checkpoint(info, new() { ["w"] = full(3, value) }, new() { ["rng"] = ones(2) });
    }

    [Test]
    public void AnInterruptedWriteLeavesThePreviousCheckpointLoadable()
    {
        var store = new CheckpointStore(_dir);
        using (var first = Make(1, 1f)) store.Save(first, isBest: true);

        foreach (var crashAfter in new[] { CheckpointStore.ModelFile, CheckpointStore.StateFile, CheckpointStore.InfoFile })
        {
            var crashing = new CheckpointStore(_dir)
            {
                AfterFileWritten = path => { if (Path.GetFileName(path) == crashAfter) throw new IOException("simulated crash"); },
            };
            using var second = Make(2, 2f);
            Assert.Throws<IOException>(() => crashing.Save(second, isBest: true));

            var last = store.FindLast();
            Assert.That(Path.GetFileName(last), Is.EqualTo("epoch-0001"), crashAfter);
            using var loaded = CheckpointStore.Load(last!);
            Assert.That(loaded.Info.Epoch, Is.EqualTo(1));
            Assert.That(loaded.Weights["w"].eq(full(3, 1f)).all().item<bool>(), Is.True);
            Assert.That(Path.GetFileName(CheckpointStore.Resolve(_dir)), Is.EqualTo("epoch-0001"));
        }
    }

    [Test]
    public void AKilledProcessLeavesDebrisThatIsIgnoredAndCleanedUp()
    {
        var store = new CheckpointStore(_dir);
        using (var first = Make(1, 1f)) store.Save(first, isBest: true);
        // What a process killed mid-write leaves: a temp folder without the marker, and a renamed folder never pointed to... 
        var debris = Path.Combine(_dir, ".tmp-epoch-0002-dead");
        Directory.CreateDirectory(debris);
        File.WriteAllBytes(Path.Combine(debris, CheckpointStore.ModelFile), [1, 2, 3]);
        // ...and an epoch folder whose COMPLETE marker was never written.
        var half = Path.Combine(_dir, "epoch-0003");
        Directory.CreateDirectory(half);
        File.WriteAllText(Path.Combine(half, CheckpointStore.InfoFile), "{");
        Assert.That(Path.GetFileName(store.FindLast()), Is.EqualTo("epoch-0001"));
        Assert.Throws<InvalidDataException>(() => CheckpointStore.Load(half));

        using (var second = Make(2, 2f)) store.Save(second, isBest: false);
        Assert.That(Path.GetFileName(store.FindLast()), Is.EqualTo("epoch-0002"));
        Assert.That(Path.GetFileName(CheckpointStore.Resolve(_dir)), Is.EqualTo("epoch-0001"), "best stays at epoch 1");
        Assert.That(Directory.GetDirectories(_dir).Select(Path.GetFileName), Is.EquivalentTo(new[] { "epoch-0001", "epoch-0002" }));
    }

    [Test]
    public void FallsBackToTheNewestCompleteCheckpointWhenThePointerIsLost()
    {
        var store = new CheckpointStore(_dir);
        using (var first = Make(1, 1f)) store.Save(first, isBest: true);
        using (var second = Make(2, 2f)) store.Save(second, isBest: true);
        File.Delete(Path.Combine(_dir, CheckpointStore.LastPointer));
        Assert.That(Path.GetFileName(store.FindLast()), Is.EqualTo("epoch-0002"));
    }

    [Test]
    public void AMidEpochCheckpointIsNamedByEpochAndStepAndOrderedByStep()
    {
        var store = new CheckpointStore(_dir);
        using (var first = Make(1, 1f)) store.Save(first, isBest: true);
        using (var midSecond = Make(1, 1.5f))
        {
            // Epoch 1 done (step 10), 15 steps into the run, inside epoch 2.
            var partial = new Checkpoint(midSecond.Info with { Step = 15, InProgress = new EpochProgress(2, 320, 100.0, 320) },
                midSecond.Weights, midSecond.TrainingState);
            Assert.That(Path.GetFileName(store.Save(partial, isBest: false)), Is.EqualTo("epoch-0002-step-000000015"));
        }
        File.Delete(Path.Combine(_dir, CheckpointStore.LastPointer));
        // Without the pointer the newest by step wins, not by name ("epoch-0002" sorts before "epoch-0002-step-...").
        Assert.That(Path.GetFileName(store.FindLast()), Is.EqualTo("epoch-0002-step-000000015"));
        using (var loaded = CheckpointStore.Load(store.FindLast()!))
            Assert.That(loaded.Info.InProgress, Is.EqualTo(new EpochProgress(2, 320, 100.0, 320)));
        using (var second = Make(2, 2f)) store.Save(second, isBest: false);
        File.Delete(Path.Combine(_dir, CheckpointStore.LastPointer));
        Assert.That(Path.GetFileName(store.FindLast()), Is.EqualTo("epoch-0002"));
    }

    [Test]
    public void ResolveAcceptsRunFoldersPointersAndCheckpointFolders()
    {
        var run = Path.Combine(_dir, "run");
        var store = new CheckpointStore(Path.Combine(run, "checkpoints"));
        using (var first = Make(1, 1f)) store.Save(first, isBest: true);
        using (var second = Make(2, 2f)) store.Save(second, isBest: false);
        Assert.That(Path.GetFileName(CheckpointStore.Resolve(run)), Is.EqualTo("epoch-0001"));
        Assert.That(Path.GetFileName(CheckpointStore.Resolve(Path.Combine(run, "checkpoints"))), Is.EqualTo("epoch-0001"));
        Assert.That(Path.GetFileName(CheckpointStore.Resolve(Path.Combine(run, "checkpoints", "last"))), Is.EqualTo("epoch-0002"));
        Assert.That(Path.GetFileName(CheckpointStore.Resolve(Path.Combine(run, "checkpoints", "epoch-0002"))), Is.EqualTo("epoch-0002"));
        Assert.Throws<DirectoryNotFoundException>(() => CheckpointStore.Resolve(Path.Combine(_dir, "nothing")));
        Assert.Throws<DirectoryNotFoundException>(() => CheckpointStore.Resolve(_dir));
        using var loaded = CheckpointStore.Load(CheckpointStore.Resolve(run));
        Assert.That(loaded.Info.History[0].Metrics!["auc_macro"], Is.NaN, "NaN survives the sidecar");
    }
}
