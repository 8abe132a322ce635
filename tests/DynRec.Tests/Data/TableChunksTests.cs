using DynRec.Data;
using DynRec.Data.KuaiRand;

namespace DynRec.Tests.Data;

/// <summary>
/// A table of more rows than one 2^20-row chunk: every column is read, encoded in place and released
/// chunk by chunk, and the rows across the chunk boundary must come out as written.
/// </summary>
[TestFixture]
public class TableChunksTests
{
    [Test]
    public void RowsAcrossChunkBoundariesKeepTheirValues()
    {
        const int n = (1 << 20) + 70_000;
        var schema = """
            files: [big.csv]
            user: uid
            item: iid
            scenario: domain
            date: day
            tasks: [click, buy]
            features:
              item: [category, price]
            numeric: [price]
            """;
        var folder = TableFixture.Write(schema);
        try
        {
            using (var w = new StreamWriter(Path.Combine(folder, "big.csv")))
            {
                w.WriteLine("uid,iid,domain,day,click,buy,category,price");
                for (var r = 0; r < n; r++)
                    w.WriteLine($"{r % 1000},{r % 333},{r % 3},{(r < n - 1000 ? 1 + r % 2 : 3)},{(r % 3 == 0 ? 1 : 0)},{(r % 5 == 0 ? 1 : 0)},c{r % 7},{(r % 11 == 0 ? "" : (r % 100).ToString())}");
            }
            var split = DataFixtures.LoadUncached(folder);
            var train = split.Train;
            Assert.That(train.Rows, Is.EqualTo(n - 1000));
            Assert.That(split.Test.Rows, Is.EqualTo(1000));
            var edges = split.Encoding.EdgesOf("price");
            Assert.That(edges, Is.Ordered.And.Property("Length").EqualTo(9));
            Assert.That(edges[0], Is.InRange(8.0, 11.0), "the first decile of 0..99 (multiples of 11 missing)");
            Assert.That(edges[8], Is.InRange(88.0, 91.0));
            int[] uid = train.Column("uid"), iid = train.Column("iid"), category = train.Column("category"), price = train.Column("price"), domain = train.Column("domain");
            var click = train.LabelColumn(0);
            var buy = train.LabelColumn(1);
            // Rows around the chunk boundary, the first and the last.
            foreach (var r in new[] { 0, (1 << 20) - 2, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, n - 1001 })
            {
                Assert.That(uid[r], Is.EqualTo(r % 1000 + 1), $"row {r}");
                Assert.That(iid[r], Is.EqualTo(r % 333 + 1), $"row {r}");
                Assert.That(domain[r], Is.EqualTo(r % 3 + 1), $"row {r}");
                Assert.That(category[r], Is.EqualTo(r % 7 + 1), $"row {r}");
                Assert.That(price[r], Is.EqualTo(r % 11 == 0 ? 0 : NumericColumn.BucketOf(r % 100, edges)), $"row {r}");
                Assert.That((click[r], buy[r]), Is.EqualTo(((r % 3 == 0 ? 1f : 0f), (r % 5 == 0 ? 1f : 0f))), $"row {r}");
                Assert.That(train.KeyOf(r), Is.EqualTo(new RowKey(r % 1000, r % 333, r, 1 + r % 2, r % 3)), $"row {r}");
            }
            Assert.That(split.Test.KeyOf(999).TimeMs, Is.EqualTo(n - 1));
        }
        finally { Directory.Delete(folder, recursive: true); }
    }
}
