using DynRec.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Tests.Data;

[TestFixture]
public class BatchTests
{
    private DataSplit _split = null!;

    [OneTimeSetUp]
    public void Load() => _split = DataFixtures.LoadUncached(DataFixtures.Folder("kuairand_stats"));

    [Test]
    public void ShuffledBatchHoldsTheRowsInTheGivenOrder()
    {
        var d = _split.Train;
        int[] rows = { 4, 0, 5, 2 };
        using var batch = d.GetBatch(rows);
        var f = _split.Schema.SparseFields.Count;
        Assert.That(batch.Sparse.shape, Is.EqualTo(new long[] { 4, f }));
        Assert.That(batch.Sparse.dtype, Is.EqualTo(ScalarType.Int64));
        Assert.That(batch.Labels.shape, Is.EqualTo(new long[] { 4, 3 }));
        Assert.That(batch.Labels.dtype, Is.EqualTo(ScalarType.Float32));
        Assert.That(batch.Sequence!.shape, Is.EqualTo(new long[] { 4, 20 }));
        Assert.That(batch.Scenario.shape, Is.EqualTo(new long[] { 4 }));
        Assert.That(batch.Size, Is.EqualTo(4));
        // Views of one buffer (one host-to-device copy), each still contiguous as the native kernels require.
        foreach (var block in new[] { batch.Sparse, batch.Labels, batch.Sequence, batch.Scenario, batch.UserIds })
            Assert.That(block.is_contiguous(), Is.True);
        var sparse = batch.Sparse.data<long>().ToArray();
        var labels = batch.Labels.data<float>().ToArray();
        var sequence = batch.Sequence.data<long>().ToArray();
        for (var i = 0; i < rows.Length; i++)
        {
            var r = rows[i];
            for (var j = 0; j < f; j++) Assert.That(sparse[i * f + j], Is.EqualTo(d.Id(j, r)), $"row {r} field {j}");
            for (var t = 0; t < 3; t++) Assert.That(labels[i * 3 + t], Is.EqualTo(d.Label(t, r)));
            Assert.That(batch.Scenario[i].item<long>(), Is.EqualTo(d.ScenarioOf(r)));
            Assert.That(batch.UserIds[i].item<long>(), Is.EqualTo(d.UserEntityOf(r)));
            Assert.That(sequence.Skip(i * 20).Take(20), Is.EqualTo(d.SequenceOf(r).ToArray().Select(x => (long)x)));
        }
    }

    [Test]
    public void ContiguousBatchEqualsTheSameRowsBySpan()
    {
        var d = _split.Test;
        using var a = d.GetBatch(1, 2);
        using var b = d.GetBatch(new[] { 1, 2 });
        Assert.That(a.Sparse.data<long>().ToArray(), Is.EqualTo(b.Sparse.data<long>().ToArray()));
        Assert.That(a.Labels.data<float>().ToArray(), Is.EqualTo(b.Labels.data<float>().ToArray()));
        Assert.That(a.Sequence!.data<long>().ToArray(), Is.EqualTo(b.Sequence!.data<long>().ToArray()));
    }

    [Test]
    public void UserAndItemFieldsAreContiguousBlocksInSchemaOrder()
    {
        var d = _split.Train;
        var schema = _split.Schema;
        var user = schema.FieldsIn(FieldGroup.User);
        var item = schema.FieldsIn(FieldGroup.Item);
        Assert.That(user, Is.EqualTo(Enumerable.Range(0, d.UserFieldCount)));
        Assert.That(item, Is.EqualTo(Enumerable.Range(d.UserFieldCount, d.ItemFieldCount)));
        Assert.That(d.ContextFieldCount, Is.EqualTo(3));
    }

    [Test]
    public void RowsOutsideTheDatasetAreRefused()
    {
        var d = _split.Test;
        Assert.Throws<ArgumentOutOfRangeException>(() => d.GetBatch(new[] { 0, d.Rows }));
        Assert.Throws<ArgumentOutOfRangeException>(() => d.GetBatch(new[] { -1 }));
        Assert.Throws<ArgumentException>(() => d.GetBatch(ReadOnlySpan<int>.Empty));
        Assert.Throws<ArgumentOutOfRangeException>(() => d.GetBatch(d.Rows - 1, 2));
    }

    [Test]
    public void DisposingTheBatchReleasesItsTensors()
    {
        var batch = _split.Train.GetBatch(0, 3);
        batch.Dispose();
        Assert.That(batch.Sparse.IsInvalid, Is.True);
        Assert.That(batch.Sequence!.IsInvalid, Is.True);
    }
}
