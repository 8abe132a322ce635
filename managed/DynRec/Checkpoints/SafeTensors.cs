using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using DynRec.Training;
using static TorchSharp.torch;

namespace DynRec.Checkpoints;

/// <summary>
/// The safetensors format (what Hugging Face's safetensors, PyTorch and
/// TorchSharp.PyBridge read): an 8-byte little-endian header length N, a UTF-8
/// JSON header of N bytes {name: {"dtype": "F32", "shape": [...],
/// "data_offsets": [begin, end]}, ..., "__metadata__": {string: string}}
/// space-padded to a multiple of 8, then the raw little-endian tensor bytes,
/// offsets relative to the end of the header. Tensors are written in sorted
/// name order, copied to the CPU and made contiguous; reads produce CPU
/// tensors. dtypes: F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL (DynRec's
/// weights are float32; optimizer steps and TBE row counters are int64).
/// </summary>
public static class SafeTensors
{
    private const string MetadataKey = "__metadata__";
    private const long MaxHeaderBytes = 100L << 20;

    private static readonly Dictionary<ScalarType, string> DtypeNames = new()
    {
        [ScalarType.Float32] = "F32", [ScalarType.Float64] = "F64", [ScalarType.Float16] = "F16", [ScalarType.BFloat16] = "BF16",
        [ScalarType.Int64] = "I64", [ScalarType.Int32] = "I32", [ScalarType.Int16] = "I16", [ScalarType.Int8] = "I8",
        [ScalarType.Byte] = "U8", [ScalarType.Bool] = "BOOL",
    };

    private static readonly Dictionary<string, ScalarType> DtypesByName = DtypeNames.ToDictionary(kv => kv.Value, kv => kv.Key);

    /// <summary>Writes the tensors atomically (temp file in the same folder, then rename).</summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        AtomicFile.Write(path, s => Write(s, tensors, metadata));

    /// <summary>Writes the tensors (sorted by name) to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
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
                if (!DtypeNames.TryGetValue(tensor.dtype, out var dtype))
                    throw new ArgumentException($"tensor '{name}': dtype {tensor.dtype} cannot be written to safetensors");
                var bytes = tensor.NumberOfElements * tensor.ElementSize;
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
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
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        stream.Write(length);
        stream.Write(headerBytes);
        for (var i = headerBytes.Length; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var (_, tensor) in sorted)
        {
            if (tensor.NumberOfElements == 0) continue;
            using var scope = NewDisposeScope();
            stream.Write(tensor.detach().cpu().contiguous().bytes);
        }
    }

    /// <summary>The header of a file: each tensor's shape, and the metadata.</summary>
    public static (Dictionary<string, long[]> Shapes, Dictionary<string, string> Metadata) ReadHeader(string path)
    {
        using var file = File.OpenRead(path);
        var (entries, metadata, _) = Header(file, path);
        return (entries.ToDictionary(e => e.Key, e => e.Value.Shape), metadata);
    }

    /// <summary>Reads every tensor (CPU) and the metadata; the caller owns the tensors.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        using var file = File.OpenRead(path);
        var (entries, metadata, dataStart) = Header(file, path);
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var (name, entry) in entries)
            {
                if (dataStart + entry.End > file.Length)
                    throw Bad(path, $"tensor '{name}': data [{entry.Begin}, {entry.End}) runs past the end of the file");
                var t = empty(entry.Shape, entry.Dtype);
                tensors[name] = t;
                if (entry.End == entry.Begin) continue;
                var data = new byte[entry.End - entry.Begin];
                file.Position = dataStart + entry.Begin;
                file.ReadExactly(data);
                t.bytes = data;
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return (tensors, metadata);
    }

    private sealed record Entry(ScalarType Dtype, long[] Shape, long Begin, long End);

    private static (Dictionary<string, Entry>, Dictionary<string, string>, long) Header(FileStream file, string path)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors reading needs a little-endian machine");
        Span<byte> lengthBytes = stackalloc byte[8];
        if (file.Read(lengthBytes) != 8) throw Bad(path, "shorter than its 8-byte header length");
        var length = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (length == 0 || length > (ulong)MaxHeaderBytes || 8 + (long)length > file.Length)
            throw Bad(path, $"header length {length} exceeds the file size ({file.Length} bytes)");
        var headerBytes = new byte[length];
        file.ReadExactly(headerBytes);
        // JsonDocument defers UTF-8 checks of strings until they are read: check the whole header first.
        if (!System.Text.Unicode.Utf8.IsValid(headerBytes)) throw Bad(path, "header is not valid UTF-8");
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
            try
            {
                if (prop.Name == MetadataKey)
                {
                    foreach (var m in prop.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                var dtypeName = prop.Value.GetProperty("dtype").GetString() ?? "";
                if (!DtypesByName.TryGetValue(dtypeName, out var dtype))
                    throw Bad(path, $"tensor '{prop.Name}': dtype {dtypeName} is not supported ({string.Join(", ", DtypesByName.Keys)})");
                var shape = prop.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                var offsets = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
                    throw Bad(path, $"tensor '{prop.Name}': bad data_offsets [{string.Join(", ", offsets)}]");
                var elementSize = dtype switch
                {
                    ScalarType.Float64 or ScalarType.Int64 => 8,
                    ScalarType.Float32 or ScalarType.Int32 => 4,
                    ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
                    _ => 1,
                };
                var expected = checked(shape.Aggregate(1L, (a, d) => a * d) * elementSize);
                if (shape.Any(d => d < 0) || offsets[1] - offsets[0] != expected)
                    throw Bad(path, $"tensor '{prop.Name}': data_offsets span {offsets[1] - offsets[0]} bytes, shape [{string.Join(", ", shape)}] {dtypeName} needs {expected}");
                entries[prop.Name] = new Entry(dtype, shape, offsets[0], offsets[1]);
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException or OverflowException)
            {
                throw Bad(path, $"'{prop.Name}': malformed header entry ({e.Message})");
            }
        }
        return (entries, metadata, 8 + (long)length);
    }

    private static InvalidDataException Bad(string path, string message) => new($"{path}: not a valid safetensors file: {message}");
}
