using DynRec.Config;
using DynRec.Data;
using DynRec.Models;
using DynRec.Ops;
using DynRec.Tests.Data;
using static TorchSharp.torch;

namespace DynRec.Tests.Models;

// Every model on a table folder's schema (one user and one item field, per-row features, with and
// without the click history, scenarios from the data): both kernel paths give the same logits and
// gradients on a batch the loader built.
[TestFixture]
public class TableDataModelTests
{
    private string _folder = null!, _historyFolder = null!;
    private DataSplit _split = null!, _historySplit = null!;

    [OneTimeSetUp]
    public void Load()
    {
        _folder = TableFixture.WriteRandom(rows: 600, days: 3, seed: 4);
        _split = DataFixtures.LoadUncached(_folder);
        _historyFolder = TableFixture.WriteRandom(rows: 600, days: 3, seed: 4);
        File.AppendAllText(Path.Combine(_historyFolder, DynRec.Data.Table.TableSchema.FileName), "\nhistory: {task: click, length: 5}\n");
        _historySplit = DataFixtures.LoadUncached(_historyFolder);
    }

    [OneTimeTearDown]
    public void Delete()
    {
        Directory.Delete(_folder, recursive: true);
        Directory.Delete(_historyFolder, recursive: true);
    }

    public static IEnumerable<object[]> Models => ModelNames.All.SelectMany(m => new[] { new object[] { m, false }, new object[] { m, true } });

    [TestCaseSource(nameof(Models))]
    public void NativeAndReferencePathsAgreeOnTableData(string name, bool history)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var split = history ? _historySplit : _split;
        var schema = split.Schema;
        using var model = ModelFactory.Create(name, schema, new Dictionary<string, object?> { ["emb_dim"] = 4 });
        model.eval();
        using var batch = split.Train.GetBatch(250, 37);  // day 2: users with day 1's clicks as their history
        Assert.That(batch.Sequence is { } seq && seq.count_nonzero().item<long>() > 0, Is.EqualTo(history));
        var probe = TestUtil.Randn(9, 37, schema.Tasks.Count);

        (Tensor Logits, Tensor[] Grads) Run(Kernels kernels)
        {
            model.Kernels = kernels;
            model.zero_grad();
            var logits = model.forward(batch);
            (logits * probe).sum().backward();
            return (logits.detach().clone(), model.parameters().Select(p => p.grad?.clone() ?? zeros_like(p)).ToArray());
        }

        var (native, nativeGrads) = Run(Kernels.Native);
        var (reference, referenceGrads) = Run(Kernels.Reference);
        Assert.That(native.shape, Is.EqualTo(new long[] { 37, 2 }));
        Assert.That(native.isfinite().all().item<bool>(), Is.True);
        Assert.That(TestUtil.RelativeError(native, reference), Is.LessThan(1e-5), "logits");
        var tolerance = name == "m2m" ? 3e-5 : 1e-5;
        for (var i = 0; i < nativeGrads.Length; i++)
            if (referenceGrads[i].abs().max().item<float>() < 1e-6f)
                Assert.That((nativeGrads[i] - referenceGrads[i]).abs().max().item<float>(), Is.LessThan(1e-6f));
            else
                Assert.That(TestUtil.RelativeError(nativeGrads[i], referenceGrads[i]), Is.LessThan(tolerance), $"gradient {i}");
    }
}
