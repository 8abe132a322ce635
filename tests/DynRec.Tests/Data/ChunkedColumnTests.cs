using DynRec.Data.KuaiRand;

namespace DynRec.Tests.Data;

public class ChunkedColumnTests
{
    /// <summary>2.5 chunks of 2^20 items: the indexer and TakeArray cross both chunk edges and end mid-chunk.</summary>
    [TestCase(0)]
    [TestCase(1)]
    [TestCase((1 << 20) - 1)]
    [TestCase(1 << 20)]
    [TestCase((5 << 19) + 3)]
    public void ItemsSurviveChunkEdgesInOrder(int count)
    {
        var column = new ChunkedColumn<int>();
        for (var i = 0; i < count; i++) column.Add(i * 7 - 3);
        Assert.That(column.Count, Is.EqualTo(count));
        foreach (var i in new[] { 0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, (2 << 20) - 1, 2 << 20, count - 1 })
            if (i >= 0 && i < count) Assert.That(column[i], Is.EqualTo(i * 7 - 3), $"item {i}");
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = column[count]);
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = column[-1]);

        var items = column.TakeArray();
        Assert.That(items.Length, Is.EqualTo(count));
        for (var i = 0; i < count; i++)
            if (items[i] != i * 7 - 3) Assert.Fail($"item {i}: {items[i]}");
        Assert.That(column.Count, Is.EqualTo(0));
        column.Add(5);
        Assert.That(column.TakeArray(), Is.EqualTo(new[] { 5 }));
    }

    [Test]
    public void ClearDropsEverything()
    {
        var column = new ChunkedColumn<long>();
        for (var i = 0; i < 3000; i++) column.Add(i);
        column.Clear();
        Assert.That(column.Count, Is.EqualTo(0));
        Assert.That(column.TakeArray(), Is.Empty);
    }
}
