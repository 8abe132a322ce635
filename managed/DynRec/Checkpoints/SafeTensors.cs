using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Checkpoints;

/// <summary>
/// The safetensors format (as Hugging Face's safetensors and PyTorch read it):
/// an 8-byte little-endian header length N, a UTF-8 JSON header of N bytes
/// {name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
/// "__metadata__": {string: string}}, then the raw little-endian tensor bytes,
/// offsets relative to the end of the header. Tensors are written in sorted
/// name order; the header is space-padded to a multiple of 8. Only float32 is
/// read and written (every DynRec parameter is float32).
/// </summary>
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";
    private const long MaxHeaderBytes = 100L << 20;

    /// <summary>Writes the tensors atomically (temp file in the same folder, then rename).</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors writing needs a little-endian machine");
        var sorted = tensors.OrderBy(t => t.Key, StringComparer.Ordinal).ToList();
        var duplicate = sorted.Zip(sorted.Skip(1)).FirstOrDefault(p => p.First.Key == p.Second.Key);
        if (duplicate.First.Key is not null) throw new ArgumentException($"tensor name '{duplicate.First.Key}' appears twice");

        var header = new MemoryStream();
        long offset = 0;
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (k, v) in metadata.OrderBy(m => m.Key, StringComparer.Ordinal)) json.WriteString(k, v);
                json.WriteEndObject();
            }
            foreach (var (name, tensor) in sorted)
            {
                if (name == MetadataKey) throw new ArgumentException($"'{MetadataKey}' is not a valid tensor name");
                if (tensor.dtype != ScalarType.Float32)
                    throw new ArgumentException($"tensor '{name}': only float32 is supported, got {tensor.dtype}");
                var bytes = tensor.numel() * sizeof(float);
                json.WriteStartObject(name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (var d in tensor.shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + bytes);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += bytes;
            }
            json.WriteEndObject();
        }
        var headerBytes = header.ToArray();
        var padded = (headerBytes.Length + 7) / 8 * 8;

        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> length = stackalloc byte[8];
                BitConverter.TryWriteBytes(length, (ulong)padded);
                file.Write(length);
                file.Write(headerBytes);
                for (var i = headerBytes.Length; i < padded; i++) file.WriteByte((byte)' ');
                foreach (var (_, tensor) in sorted)
                {
                    using var scope = NewDisposeScope();
                    var data = tensor.detach().cpu().contiguous().data<float>().ToArray();
                    file.Write(MemoryMarshal.AsBytes(data.AsSpan()));
                }
                file.Flush(true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>The header of a file: each tensor's shape, and the metadata.</summary>
    public static (Dictionary<string, long[]> Shapes, Dictionary<string, string> Metadata) ReadHeader(string path)
    {
        using var file = File.OpenRead(path);
        var (entries, metadata, _) = Header(file, path);
        return (entries.ToDictionary(e => e.Key, e => e.Value.Shape), metadata);
    }

    /// <summary>Reads every tensor (CPU, float32) and the metadata.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        using var file = File.OpenRead(path);
        var (entries, metadata, dataStart) = Header(file, path);
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var (name, entry) in entries)
            {
                var count = entry.End - entry.Begin;
                if (dataStart + entry.End > file.Length)
                    throw Bad(path, $"tensor '{name}': data [{entry.Begin}, {entry.End}) runs past the end of the file");
                var values = new float[count / sizeof(float)];
                file.Position = dataStart + entry.Begin;
                file.ReadExactly(MemoryMarshal.AsBytes(values.AsSpan()));
                tensors[name] = tensor(values, entry.Shape);
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return (tensors, metadata);
    }

    private sealed record Entry(long[] Shape, long Begin, long End);

    private static (Dictionary<string, Entry>, Dictionary<string, string>, long) Header(FileStream file, string path)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors reading needs a little-endian machine");
        Span<byte> lengthBytes = stackalloc byte[8];
        if (file.Read(lengthBytes) != 8) throw Bad(path, "shorter than the 8-byte header length");
        var length = BitConverter.ToUInt64(lengthBytes);
        if (length == 0 || length > (ulong)MaxHeaderBytes || 8 + (long)length > file.Length)
            throw Bad(path, $"header length {length} does not fit the file ({file.Length} bytes)");
        var headerBytes = new byte[length];
        file.ReadExactly(headerBytes);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(headerBytes);
        }
        catch (JsonException e)
        {
            throw Bad(path, $"header is not valid JSON ({e.Message})");
        }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw Bad(path, "header is not a JSON object");
        var entries = new Dictionary<string, Entry>();
        var metadata = new Dictionary<string, string>();
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (prop.Name == MetadataKey)
            {
                foreach (var m in prop.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString() ?? "";
                continue;
            }
            try
            {
                var dtype = prop.Value.GetProperty("dtype").GetString();
                if (dtype != "F32") throw Bad(path, $"tensor '{prop.Name}': dtype {dtype} is not supported (only F32)");
                var shape = prop.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                var offsets = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
                    throw Bad(path, $"tensor '{prop.Name}': bad data_offsets");
                var expected = shape.Aggregate(1L, (a, d) => a * d) * sizeof(float);
                if (shape.Any(d => d < 0) || offsets[1] - offsets[0] != expected)
                    throw Bad(path, $"tensor '{prop.Name}': data_offsets span {offsets[1] - offsets[0]} bytes, shape [{string.Join(", ", shape)}] needs {expected}");
                entries[prop.Name] = new Entry(shape, offsets[0], offsets[1]);
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw Bad(path, $"tensor '{prop.Name}': malformed header entry ({e.Message})");
            }
        }
        return (entries, metadata, 8 + (long)length);
    }

    private static InvalidDataException Bad(string path, string message) => new($"{path}: not a valid safetensors file: {message}");
}
