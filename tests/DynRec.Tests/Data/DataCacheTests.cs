using DynRec.Data;

namespace DynRec.Tests.Data;

[TestFixture]
public class DataCacheTests
{
    private string _dir = null!;

    [SetUp]
    public void CopyFixture() => _dir = DataFixtures.Copy("kuairand_stats");

    [TearDown]
    public void Remove() => Directory.Delete(_dir, recursive: true);

    private DataSplit Load() => DataSource.Load(_dir);
    private string CachePath => DataCache.PathFor(_dir, null);

    [Test]
    public void SecondLoadHitsTheCacheAndMatchesTheParsedData()
    {
        var parsed = Load();
        Assert.That(parsed.FromCache, Is.False);
        Assert.That(File.Exists(CachePath), Is.True);
        var cached = Load();
        Assert.That(cached.FromCache, Is.True);
        Assert.That(cached.Schema.SparseFields, Is.EqualTo(parsed.Schema.SparseFields));
        Assert.That(cached.Info, Is.EqualTo(parsed.Info));
        foreach (var (a, b) in new[] { (parsed.Train, cached.Train), (parsed.Test, cached.Test) })
        {
            Assert.That(b.Rows, Is.EqualTo(a.Rows));
            for (var f = 0; f < parsed.Schema.SparseFields.Count; f++) Assert.That(b.Column(f), Is.EqualTo(a.Column(f)));
            for (var t = 0; t < parsed.Schema.Tasks.Count; t++) Assert.That(b.LabelColumn(t), Is.EqualTo(a.LabelColumn(t)));
            for (var r = 0; r < a.Rows; r++) Assert.That(b.SequenceOf(r).ToArray(), Is.EqualTo(a.SequenceOf(r).ToArray()));
            for (var r = 0; r < a.Rows; r++) Assert.That(b.KeyOf(r), Is.EqualTo(a.KeyOf(r)));
        }
    }

    /// <summary>time_ms is cached as 4-byte offsets from the minimum when the range allows, else as 8 bytes.</summary>
    [TestCase(false)]
    [TestCase(true)]
    public void TimesRoundTripNarrowOrWide(bool wide)
    {
        if (wide)
        {
            // One row ~100 years later: the range no longer fits 32 bits of milliseconds.
            var log = Directory.GetFiles(_dir, "log_standard_*.csv").Order(StringComparer.Ordinal).First();
            var lines = File.ReadAllLines(log);
            var cells = lines[1].Split(',');
            cells[4] = (long.Parse(cells[4]) + 3_155_760_000_000L).ToString();
            lines[1] = string.Join(',', cells);
            File.WriteAllLines(log, lines);
        }
        var parsed = Load();
        var cached = Load();
        Assert.That(cached.FromCache, Is.True);
        foreach (var (a, b) in new[] { (parsed.Train, cached.Train), (parsed.Test, cached.Test) })
            Assert.That(Enumerable.Range(0, b.Rows).Select(b.KeyOf), Is.EqualTo(Enumerable.Range(0, a.Rows).Select(a.KeyOf)));
        var times = Enumerable.Range(0, cached.Train.Rows).Select(r => cached.Train.KeyOf(r).TimeMs).ToArray();
        Assert.That(times.Max() - times.Min() > uint.MaxValue, Is.EqualTo(wide));
    }

    [Test]
    public void TouchingASourceInvalidatesTheCache()
    {
        Load();
        Assert.That(Load().FromCache, Is.True);
        File.SetLastWriteTimeUtc(Path.Combine(_dir, "user_features_pure.csv"), DateTime.UtcNow.AddMinutes(1));
        Assert.That(Load().FromCache, Is.False);
        Assert.That(Load().FromCache, Is.True);
    }

    [Test]
    public void ChangingASourceSizeInvalidatesTheCache()
    {
        Load();
        var log = Path.Combine(_dir, "log_standard_4_10_to_4_10_pure.csv");
        var mtime = File.GetLastWriteTimeUtc(log);
        File.AppendAllText(log, "10,100,20220410,1600,1649577600000,1,0,0,0,0,0,0,800,10000,0,0,0,0,0\n");
        File.SetLastWriteTimeUtc(log, mtime);  // same mtime, new size
        var split = Load();
        Assert.That(split.FromCache, Is.False);
        Assert.That(split.Test.Rows, Is.EqualTo(4));
    }

    [Test]
    public void ChangingLoadOptionsInvalidatesTheCache()
    {
        Load();
        Assert.That(DataSource.Load(_dir, new LoadOptions { SequenceLength = 5 }).FromCache, Is.False);
        Assert.That(DataSource.Load(_dir, new LoadOptions { SequenceLength = 5 }).FromCache, Is.True);
    }

    [Test]
    public void ACrashBeforeTheRenameLeavesNoCacheAndNoTempFile()
    {
        var split = DataFixtures.LoadUncached(_dir);
        Assert.Throws<IOException>(() => DataCache.Write(CachePath, "key", split, beforeRename: () => throw new IOException("simulated crash")));
        Assert.That(File.Exists(CachePath), Is.False);
        Assert.That(Directory.GetFiles(_dir, "*.tmp"), Is.Empty);
        // An earlier good cache survives a failed rewrite untouched.
        DataCache.Write(CachePath, "key", split);
        var before = File.ReadAllBytes(CachePath);
        Assert.Throws<IOException>(() => DataCache.Write(CachePath, "other", split, beforeRename: () => throw new IOException("simulated crash")));
        Assert.That(File.ReadAllBytes(CachePath), Is.EqualTo(before));
        Assert.That(DataCache.TryRead(CachePath, "key"), Is.Not.Null);
    }

    [Test]
    public void ATruncatedOrForeignCacheIsIgnoredAndRebuilt()
    {
        Load();
        var bytes = File.ReadAllBytes(CachePath);
        File.WriteAllBytes(CachePath, bytes[..(bytes.Length / 2)]);
        Assert.That(Load().FromCache, Is.False);
        File.WriteAllText(CachePath, "not a cache");
        Assert.That(Load().FromCache, Is.False);
        Assert.That(Load().FromCache, Is.True);
    }

    [Test]
    public void AnyFlippedByteMakesTheCacheBeRebuiltNotRead()
    {
        var fresh = Load();
        var bytes = File.ReadAllBytes(CachePath);
        var rng = new Random(5);
        // Header, schema, row records, entity tables, the checksum itself: a damaged cache is never used.
        foreach (var at in new[] { 9, bytes.Length / 3, bytes.Length / 2, bytes.Length - 20, bytes.Length - 1 }.Append(rng.Next(bytes.Length)))
        {
            var damaged = (byte[])bytes.Clone();
            damaged[at] ^= (byte)(1 << rng.Next(8));
            File.WriteAllBytes(CachePath, damaged);
            var split = Load();
            Assert.That(split.FromCache, Is.False, $"byte {at} of {bytes.Length} flipped");
            Assert.That(split.Train.Column("video_id"), Is.EqualTo(fresh.Train.Column("video_id")));
        }
        Assert.That(Load().FromCache, Is.True);
    }

    [Test]
    public void CacheDirectoryOptionPutsTheCacheElsewhere()
    {
        var cacheDir = DataFixtures.NewTempDir();
        try
        {
            var options = new LoadOptions { CacheDirectory = cacheDir };
            DataSource.Load(_dir, options);
            Assert.That(File.Exists(CachePath), Is.False);
            Assert.That(Directory.GetFiles(cacheDir), Has.Length.EqualTo(1));
            Assert.That(DataSource.Load(_dir, options).FromCache, Is.True);
        }
        finally
        {
            Directory.Delete(cacheDir, recursive: true);
        }
    }

    /// <summary>
    /// The cache stores records as one row-major byte stream, whatever the chunking in memory: a split
    /// whose stores use 2-row chunks (so every store spans several, the last partial) reads back equal.
    /// </summary>
    [Test]
    public void RecordsWrittenFromSmallChunksReadBackEqual()
    {
        var parsed = Load();
        Dataset Rechunk(Dataset d)
        {
            var ranges = Enumerable.Range(0, d.Records.Columns).Select(d.Records.RangeOf).ToArray();
            var small = new PackedRows(d.Rows, ranges, chunkRowsLog2: 1);
            var record = new int[ranges.Length];
            for (var r = 0; r < d.Rows; r++)
            {
                d.Records.GetRecord(r, record);
                small.SetRecord(r, record);
            }
            return new Dataset(d.Schema, d.UserFieldCount, d.ItemFieldCount, small, d.UserTable, d.ItemTable, d.Sequences,
                d.Oracle, d.Keys, d.Times, d.HasLabels);
        }
        var split = parsed with { Train = Rechunk(parsed.Train), Test = Rechunk(parsed.Test) };
        Assert.That(split.Train.Records.Chunks.Count, Is.GreaterThan(2));
        DataCache.Write(CachePath, "key", split);
        var cached = DataCache.TryRead(CachePath, "key")!;
        Assert.That(cached, Is.Not.Null);
        foreach (var (a, b) in new[] { (parsed.Train, cached.Train), (parsed.Test, cached.Test) })
        {
            Assert.That(b.Rows, Is.EqualTo(a.Rows));
            for (var f = 0; f < parsed.Schema.SparseFields.Count; f++) Assert.That(b.Column(f), Is.EqualTo(a.Column(f)));
            for (var t = 0; t < parsed.Schema.Tasks.Count; t++) Assert.That(b.LabelColumn(t), Is.EqualTo(a.LabelColumn(t)));
            Assert.That(Enumerable.Range(0, b.Rows).Select(b.KeyOf), Is.EqualTo(Enumerable.Range(0, a.Rows).Select(a.KeyOf)));
            Assert.That(Enumerable.Range(0, b.Rows).Select(b.DateOf), Is.EqualTo(Enumerable.Range(0, a.Rows).Select(a.DateOf)));
        }
    }

    /// <summary>Row records whose entity column may point past the tables are refused when the dataset is built.</summary>
    [Test]
    public void RecordsReachingPastTheEntityTablesAreRefused()
    {
        var d = Load().Train;
        var ranges = Enumerable.Range(0, d.Records.Columns).Select(d.Records.RangeOf).ToArray();
        var users = d.Keys.UserIds.Length;
        ranges[0] = new PackedRows.ColumnRange(0, users);  // one past the last user entity
        var e = Assert.Throws<ArgumentException>(() => new Dataset(d.Schema, d.UserFieldCount, d.ItemFieldCount,
            new PackedRows(d.Rows, ranges), d.UserTable, d.ItemTable, d.Sequences, d.Oracle, d.Keys, d.Times, d.HasLabels))!;
        Assert.That(e.Message, Does.Contain("user entity column may hold 0.." + users));
    }
}
