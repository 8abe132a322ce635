using DynRec.Data;
using NUnit.Framework;
using Range = DynRec.Data.PackedRows.ColumnRange;

namespace DynRec.Tests.Data;

public class PackedRowsTests
{
    [Test]
    public void ColumnWidthFollowsTheRange()
    {
        Assert.That(new Range(0, 255).Width, Is.EqualTo(1));
        Assert.That(new Range(-300, -45).Width, Is.EqualTo(1));
        Assert.That(new Range(0, 256).Width, Is.EqualTo(2));
        Assert.That(new Range(20220408, 20220508).Width, Is.EqualTo(1));
        Assert.That(new Range(-1, 65534).Width, Is.EqualTo(2));
        Assert.That(new Range(0, 65536).Width, Is.EqualTo(4));
        Assert.That(new Range(int.MinValue, int.MaxValue).Width, Is.EqualTo(4));
        var rows = new PackedRows(3, new[] { new Range(0, 1), new Range(0, 1000), new Range(int.MinValue, int.MaxValue) });
        Assert.That(rows.RecordBytes, Is.EqualTo(7));
        Assert.That(rows.Bytes, Is.EqualTo(21));
    }

    /// <summary>Random records against a plain int[,] model, with chunks of 8 rows so 61 rows span 8 chunks, the last partial.</summary>
    [TestCase(61, 3)]
    [TestCase(64, 3)]
    [TestCase(5, 0)]
    [TestCase(1000, 20)]
    public void RecordsRoundTripAcrossChunkEdges(int rowCount, int chunkLog2)
    {
        var ranges = new[]
        {
            new Range(0, 3), new Range(-128, 127), new Range(20220408, 20220509), new Range(0, 40000),
            new Range(-70000, 10), new Range(int.MinValue, int.MaxValue), new Range(7, 7),
        };
        var rows = new PackedRows(rowCount, ranges, chunkLog2);
        var model = new int[rowCount, ranges.Length];
        var rng = new Random(rowCount);
        Span<int> record = stackalloc int[ranges.Length];
        for (var r = 0; r < rowCount; r++)
        {
            for (var c = 0; c < ranges.Length; c++)
            {
                var range = ranges[c];
                // Both ends of each range occur, besides random values inside it.
                record[c] = r % 5 == 0 ? range.Min : r % 5 == 1 ? range.Max : (int)rng.NextInt64(range.Min, (long)range.Max + 1);
                model[r, c] = record[c];
            }
            rows.SetRecord(r, record);
        }
        // Overwrite single cells after the fact: neighbours must keep their values.
        for (var r = 0; r < rowCount; r += 7)
        {
            rows.Set(r, 3, 12345);
            model[r, 3] = 12345;
        }
        for (var r = 0; r < rowCount; r++)
        {
            rows.GetRecord(r, record);
            for (var c = 0; c < ranges.Length; c++)
            {
                Assert.That(record[c], Is.EqualTo(model[r, c]), $"row {r} column {c}");
                Assert.That(rows.Get(r, c), Is.EqualTo(model[r, c]), $"row {r} column {c}");
            }
        }
        for (var c = 0; c < ranges.Length; c++)
        {
            var observed = rows.ObservedRange(c)!.Value;
            var values = Enumerable.Range(0, rowCount).Select(r => model[r, c]).ToArray();
            Assert.That(observed, Is.EqualTo(new Range(values.Min(), values.Max())), $"column {c}");
        }
    }

    [Test]
    public void FreshRecordsHoldEachColumnsMinimum()
    {
        var rows = new PackedRows(10, new[] { new Range(5, 9), new Range(-40000, 40000) }, 2);
        Assert.That(rows.Get(9, 0), Is.EqualTo(5));
        Assert.That(rows.Get(9, 1), Is.EqualTo(-40000));
    }

    [Test]
    public void ValuesOutsideTheirRangeAndBadRowsAreRefused()
    {
        var rows = new PackedRows(4, new[] { new Range(0, 5), new Range(-2, 300) });
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => rows.Set(0, 0, 6))!;
        Assert.That(e.Message, Does.Contain("column 0: 6 outside its range 0..5"));
        Assert.Throws<ArgumentOutOfRangeException>(() => rows.Set(0, 1, -3));
        Assert.Throws<ArgumentOutOfRangeException>(() => rows.Get(4, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => rows.Get(-1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => rows.Set(4, 0, 1));
        Assert.Throws<ArgumentException>(() => rows.SetRecord(0, new[] { 1 }));
        Assert.Throws<ArgumentException>(() => new PackedRows(1, new[] { new Range(3, 2) }));
        Assert.Throws<ArgumentException>(() => new PackedRows(1, Array.Empty<Range>()));
        // A rejected write changes nothing.
        Assert.That(rows.Get(0, 0), Is.EqualTo(0));
    }

    [Test]
    public void EmptyStoreHasNoRowsAndNoObservedRange()
    {
        var rows = new PackedRows(0, new[] { new Range(0, 1) });
        Assert.That(rows.Rows, Is.EqualTo(0));
        Assert.That(rows.Chunks, Is.Empty);
        Assert.That(rows.ObservedRange(0), Is.Null);
    }

    [Test]
    public void ChunksTogetherHoldExactlyTheRecords()
    {
        var rows = new PackedRows(21, new[] { new Range(0, 1000), new Range(0, 1) }, 3);
        Assert.That(rows.Chunks.Select(c => c.Length), Is.EqualTo(new[] { 24, 24, 15 }));
    }

    [Test]
    public void RowTimesAreNarrowWhenTheirRangeFitsFourBytes()
    {
        long[] narrow = { 1649400000123, 1649400000000, 1649400000000 + uint.MaxValue };
        var t = RowTimes.Build(narrow.Length, i => narrow[i]);
        Assert.That(t.Narrow, Is.True);
        Assert.That(Enumerable.Range(0, 3).Select(i => t[i]), Is.EqualTo(narrow));

        long[] wide = { -5, 1649400000000 };
        var w = RowTimes.Build(wide.Length, i => wide[i]);
        Assert.That(w.Narrow, Is.False);
        Assert.That(Enumerable.Range(0, 2).Select(i => w[i]), Is.EqualTo(wide));

        Assert.That(RowTimes.Build(0, _ => 0).Count, Is.EqualTo(0));
    }

    /// <summary>2.5 chunks of 2^20 times through the builder, narrow and wide; values outside the announced range are refused.</summary>
    [TestCase(false)]
    [TestCase(true)]
    public void RowTimesBuilderCrossesChunkEdges(bool wide)
    {
        const int count = (5 << 19) + 7;
        long origin = 1649400000000, step = wide ? 4_000_000 : 3;
        long TimeOf(int i) => origin + (i * 7919L % count) * step;
        var builder = new RowTimes.Builder(count, origin, origin + (count - 1) * step);
        for (var i = 0; i < count; i++) builder.Add(TimeOf(i));
        Assert.Throws<InvalidOperationException>(() => builder.Add(origin));
        var times = builder.Finish();
        Assert.That(times.Narrow, Is.EqualTo(!wide));
        Assert.That(times.Count, Is.EqualTo(count));
        for (var i = 0; i < count; i++)
            if (times[i] != TimeOf(i)) Assert.Fail($"row {i}: {times[i]} != {TimeOf(i)}");
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = times[count]);

        var partial = new RowTimes.Builder(2, 10, 20);
        Assert.Throws<ArgumentOutOfRangeException>(() => partial.Add(21));
        Assert.Throws<ArgumentOutOfRangeException>(() => partial.Add(9));
        partial.Add(10);
        Assert.Throws<InvalidOperationException>(() => partial.Finish());
    }
}
