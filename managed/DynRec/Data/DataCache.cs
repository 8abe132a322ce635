using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace DynRec.Data;

/// <summary>
/// Binary columnar cache of a preprocessed <see cref="DataSplit"/>. The file
/// starts with a key (format version, options, and every source's name, size
/// and mtime); a key mismatch means "stale" and the data is parsed again.
/// It ends with an XxHash3 of everything before it, checked before anything
/// is parsed, so a damaged file (a flipped bit, a partial copy) is rebuilt
/// rather than read as ids outside their vocabularies.
/// Written to a temp file and renamed, so a reader never sees a partial file.
/// </summary>
public static class DataCache
{
    public const int FormatVersion = 10;
    private const string Magic = "DYNRECDC";

    /// <summary>The cache key of a set of source files under some options.</summary>
    public static string Key(IEnumerable<string> sources, string optionsKey)
    {
        var sb = new StringBuilder($"format={FormatVersion};{optionsKey}");
        foreach (var path in sources)
        {
            var info = new FileInfo(path);
            sb.Append(';').Append(info.Name).Append('|').Append(info.Length).Append('|').Append(info.LastWriteTimeUtc.Ticks);
        }
        return sb.ToString();
    }

    /// <summary>
    /// Cache path for a data folder: in the folder itself, or in cacheDirectory named by the folder's hash.
    /// Data encoded with a given encoding (<paramref name="encodingFingerprint"/>) has a file of its own, so
    /// scoring a folder with a checkpoint's encoding does not evict the folder's own cache.
    /// </summary>
    public static string PathFor(string folder, string? cacheDirectory, string? encodingFingerprint = null)
    {
        var suffix = encodingFingerprint == null ? "" : $"-enc-{encodingFingerprint}";
        if (cacheDirectory == null) return Path.Combine(folder, $".dynrec-cache{suffix}.bin");
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(folder))))[..16].ToLowerInvariant();
        return Path.Combine(cacheDirectory, $"dynrec-cache-{hash}{suffix}.bin");
    }

    /// <summary>The cached split, or null when the file is absent, stale or unreadable.</summary>
    public static DataSplit? TryRead(string path, string key)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            if (!ChecksumMatches(stream)) return null;
            stream.Position = 0;
            using var r = new BinaryReader(stream, Encoding.UTF8);
            if (Encoding.ASCII.GetString(r.ReadBytes(Magic.Length)) != Magic || r.ReadInt32() != FormatVersion) return null;
            if (r.ReadString() != key) return null;
            var schema = ReadSchema(r);
            var info = new DataInfo(r.ReadString(), r.ReadInt64(), r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32());
            var encoding = FeatureEncoding.FromJson(r.ReadString(), path);
            var keys = new EntityKeys(ReadRawIds(r), ReadRawIds(r), ReadRawIds(r), ReadKeyColumns(r));
            var train = ReadDataset(r, schema, keys);
            var test = ReadDataset(r, schema, keys);
            return new DataSplit(schema, train, test, info, encoding) { FromCache = true };
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or ArgumentException or InvalidDataException)
        {
            return null;  // a damaged cache is only a cache: parse again
        }
    }

    /// <summary>Writes the cache atomically (temp file + rename). <paramref name="beforeRename"/> is a test hook.</summary>
    public static void Write(string path, string key, DataSplit split, Action? beforeRename = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1 << 20))
            using (var w = new BinaryWriter(stream, Encoding.UTF8))
            {
                w.Write(Encoding.ASCII.GetBytes(Magic));
                w.Write(FormatVersion);
                w.Write(key);
                WriteSchema(w, split.Schema);
                var i = split.Info;
                w.Write(i.Source); w.Write(i.RowsRead); w.Write(i.RowsDroppedByTab);
                w.Write(i.Users); w.Write(i.Videos); w.Write(i.Authors); w.Write(i.TestDate);
                w.Write(split.Encoding.ToJson());
                var keys = split.Train.Keys;
                WriteRawIds(w, keys.UserIds); WriteRawIds(w, keys.VideoIds); WriteRawIds(w, keys.ScenarioValues);
                WriteKeyColumns(w, keys.Columns);
                WriteDataset(w, split.Train);
                WriteDataset(w, split.Test);
                w.Flush();
                var checksum = Checksum(stream, stream.Length);
                stream.Position = stream.Length;
                w.Write(checksum);
                w.Flush();
                stream.Flush(flushToDisk: true);
            }
            beforeRename?.Invoke();
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>XxHash3 of the first <paramref name="length"/> bytes of the stream.</summary>
    private static ulong Checksum(Stream stream, long length)
    {
        var hash = new XxHash3();
        var buffer = new byte[1 << 20];
        stream.Position = 0;
        for (long left = length; left > 0;)
        {
            var n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (n == 0) throw new EndOfStreamException();
            hash.Append(buffer.AsSpan(0, n));
            left -= n;
        }
        return hash.GetCurrentHashAsUInt64();
    }

    /// <summary>Whether the trailing 8 bytes are the checksum of the rest.</summary>
    private static bool ChecksumMatches(FileStream stream)
    {
        var length = stream.Length - sizeof(ulong);
        if (length <= 0) return false;
        var expected = Checksum(stream, length);
        Span<byte> trailer = stackalloc byte[sizeof(ulong)];
        stream.Position = length;
        stream.ReadExactly(trailer);
        return BinaryPrimitives.ReadUInt64LittleEndian(trailer) == expected;
    }

    private static void WriteSchema(BinaryWriter w, FeatureSchema s)
    {
        w.Write(s.SparseFields.Count);
        foreach (var f in s.SparseFields) { w.Write(f.Name); w.Write(f.VocabularySize); w.Write((int)f.Groups); }
        w.Write(s.Sequence != null);
        if (s.Sequence != null) { w.Write(s.Sequence.Name); w.Write(s.Sequence.SharesVocabularyWith); w.Write(s.Sequence.MaxLength); }
        w.Write(s.Tasks.Count);
        foreach (var t in s.Tasks) w.Write(t);
        w.Write(s.ScenarioField);
        w.Write(s.ScenarioCount);
    }

    private static FeatureSchema ReadSchema(BinaryReader r)
    {
        var fields = new SparseField[r.ReadInt32()];
        for (var i = 0; i < fields.Length; i++) fields[i] = new SparseField(r.ReadString(), r.ReadInt32(), (FieldGroup)r.ReadInt32());
        var sequence = r.ReadBoolean() ? new SequenceField(r.ReadString(), r.ReadString(), r.ReadInt32()) : null;
        var tasks = new string[r.ReadInt32()];
        for (var i = 0; i < tasks.Length; i++) tasks[i] = r.ReadString();
        return new FeatureSchema(fields, sequence, tasks, r.ReadString(), r.ReadInt32());
    }

    private static void WriteKeyColumns(BinaryWriter w, KeyColumns c)
    {
        w.Write(c.User); w.Write(c.Item ?? ""); w.Write(c.Time); w.Write(c.Date); w.Write(c.Scenario);
    }

    private static KeyColumns ReadKeyColumns(BinaryReader r)
    {
        var user = r.ReadString();
        var item = r.ReadString();
        return new KeyColumns(user, item.Length == 0 ? null : item, r.ReadString(), r.ReadString(), r.ReadString());
    }

    private static void WriteDataset(BinaryWriter w, Dataset d)
    {
        w.Write(d.Rows);
        w.Write(d.UserFieldCount);
        w.Write(d.ItemFieldCount);
        w.Write(d.Oracle != null);
        w.Write(d.HasLabels);
        WriteRecords(w, d.Records);
        WriteArray<int>(w, d.UserTable);
        WriteArray<int>(w, d.ItemTable);
        WriteArray<int>(w, d.Sequences);
        WriteTimes(w, d.Times);
        if (d.Oracle != null) foreach (var c in d.Oracle) WriteArray<float>(w, c);
    }

    private static Dataset ReadDataset(BinaryReader r, FeatureSchema s, EntityKeys keys)
    {
        var rows = r.ReadInt32();
        var userFields = r.ReadInt32();
        var itemFields = r.ReadInt32();
        var hasOracle = r.ReadBoolean();
        var hasLabels = r.ReadBoolean();
        var records = ReadRecords(r, rows);
        var userTable = ReadArray<int>(r);
        var itemTable = ReadArray<int>(r);
        var sequences = ReadArray<int>(r);
        var times = ReadTimes(r, rows);
        float[][]? oracle = null;
        if (hasOracle)
        {
            oracle = new float[s.Tasks.Count][];
            for (var t = 0; t < oracle.Length; t++) oracle[t] = ReadArray<float>(r);
        }
        return new Dataset(s, userFields, itemFields, records, userTable, itemTable, sequences, oracle, keys, times, hasLabels);
    }

    /// <summary>
    /// The packed row records as they are in memory: column ranges, then the record bytes chunk by
    /// chunk (each column already in 1, 2 or 4 bytes, so the file is as small as the store and loads
    /// at disk speed, with no per-value work).
    /// </summary>
    private static void WriteRecords(BinaryWriter w, PackedRows records)
    {
        w.Write(records.Columns);
        for (var c = 0; c < records.Columns; c++)
        {
            var range = records.RangeOf(c);
            w.Write(range.Min);
            w.Write(range.Max);
        }
        foreach (var chunk in records.Chunks) w.Write(chunk);
    }

    private static PackedRows ReadRecords(BinaryReader r, int rows)
    {
        var columns = r.ReadInt32();
        if (rows < 0 || columns <= 0 || columns > 1024) throw new InvalidDataException($"bad row records: {rows} rows of {columns} columns");
        var ranges = new PackedRows.ColumnRange[columns];
        for (var c = 0; c < columns; c++) ranges[c] = new PackedRows.ColumnRange(r.ReadInt32(), r.ReadInt32());
        if (ranges.Any(x => x.Max < x.Min)) throw new InvalidDataException("bad row record column range");
        var bytes = (long)rows * ranges.Sum(x => x.Width);
        if (bytes > r.BaseStream.Length - r.BaseStream.Position) throw new InvalidDataException($"{rows} row records do not fit the file");
        var records = new PackedRows(rows, ranges);
        foreach (var chunk in records.Chunks) r.BaseStream.ReadExactly(chunk);
        return records;
    }

    /// <summary>time_ms per row: the origin and 4-byte offsets, or full 8-byte values (<see cref="RowTimes"/>).</summary>
    private static void WriteTimes(BinaryWriter w, RowTimes times)
    {
        w.Write(times.Count);
        w.Write(times.Narrow);
        w.Write(times.Origin);
        if (times.OffsetChunks is { } offsets)
            foreach (var chunk in offsets) w.Write(MemoryMarshal.AsBytes(chunk.AsSpan()));
        else
            foreach (var chunk in times.WideChunks!) w.Write(MemoryMarshal.AsBytes(chunk.AsSpan()));
    }

    private static RowTimes ReadTimes(BinaryReader r, int rows)
    {
        var count = r.ReadInt32();
        var narrow = r.ReadBoolean();
        var origin = r.ReadInt64();
        var width = narrow ? sizeof(uint) : sizeof(long);
        if (count != rows || count > (r.BaseStream.Length - r.BaseStream.Position) / width)
            throw new InvalidDataException($"cache time column of {count} entries does not match {rows} rows or the file");
        var times = RowTimes.Allocate(count, narrow, origin);
        if (times.OffsetChunks is { } offsets)
            foreach (var chunk in offsets) r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(chunk.AsSpan()));
        else
            foreach (var chunk in times.WideChunks!) r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(chunk.AsSpan()));
        return times;
    }

    /// <summary>A kind byte (0 = integers, 1 = text), then the ids.</summary>
    private static void WriteRawIds(BinaryWriter w, RawIds ids)
    {
        w.Write((byte)(ids.Texts == null ? 0 : 1));
        if (ids.Numbers != null)
        {
            WriteArray<long>(w, ids.Numbers);
            return;
        }
        w.Write(ids.Texts!.Length);
        foreach (var t in ids.Texts) w.Write(t);
    }

    private static RawIds ReadRawIds(BinaryReader r)
    {
        var kind = r.ReadByte();
        if (kind == 0) return new RawIds(ReadArray<long>(r));
        if (kind != 1) throw new InvalidDataException($"cache id kind {kind} is not 0 (integers) or 1 (text)");
        var length = r.ReadInt32();
        // Each string takes at least its one length byte.
        if (length < 0 || length > r.BaseStream.Length - r.BaseStream.Position)
            throw new InvalidDataException($"cache list of {length} ids does not fit the file");
        var texts = new string[length];
        for (var i = 0; i < length; i++) texts[i] = r.ReadString();
        return new RawIds(texts);
    }

    private static void WriteArray<T>(BinaryWriter w, T[] a) where T : unmanaged
    {
        w.Write(a.Length);
        w.Write(MemoryMarshal.AsBytes(a.AsSpan()));
    }

    private static T[] ReadArray<T>(BinaryReader r) where T : unmanaged
    {
        var length = r.ReadInt32();
        if (length < 0 || length > (r.BaseStream.Length - r.BaseStream.Position) / System.Runtime.CompilerServices.Unsafe.SizeOf<T>())
            throw new InvalidDataException($"cache array of {length} entries does not fit the file");
        var a = GC.AllocateUninitializedArray<T>(length);
        r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
        return a;
    }
}
