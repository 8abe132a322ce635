using DynRec.Data.KuaiRand;

namespace DynRec.Tests.Data;

public class ChunkedColumnTests
{
    /// <summary>Up to 2.5 chunks of 2^20 items: the indexer crosses both chunk edges and ends mid-chunk.</summary>
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
        Assert.That(column.ChunkCount, Is.EqualTo((count + (1 << 20) - 1) >> 20));
        for (var i = 0; i < count; i++)
            if (column[i] != i * 7 - 3) Assert.Fail($"item {i}: {column[i]}");
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = column[count]);
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = column[-1]);
    }

    [Test]
    public void ReleasedChunksCannotBeReadAndTheColumnStopsGrowing()
    {
        var column = new ChunkedColumn<byte>();
        for (var i = 0; i < (1 << 20) + 10; i++) column.Add((byte)i);
        column.ReleaseChunk(0);
        Assert.Throws<InvalidOperationException>(() => _ = column[5]);
        Assert.That(column[(1 << 20) + 3], Is.EqualTo((byte)3));
        Assert.Throws<InvalidOperationException>(() => column.Add(1));
        column.Clear();
        Assert.That(column.Count, Is.EqualTo(0));
        column.Add(9);
        Assert.That(column[0], Is.EqualTo((byte)9));
    }
}
