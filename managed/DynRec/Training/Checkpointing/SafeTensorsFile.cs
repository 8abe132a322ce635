using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace DynRec.Training.Checkpointing;

/// <summary>
/// Minimal reader/writer of the safetensors format (what PyTorch's
/// `safetensors` and TorchSharp.PyBridge read): an 8-byte little-endian header
/// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
/// {string: string}} padded with spaces to 8 bytes, then the raw little-endian
/// tensor bytes in header order. Tensors are copied to the CPU and made
/// contiguous on write; reads produce CPU tensors.
/// </summary>
public static class SafeTensorsFile
{
    private static readonly Dictionary<ScalarType, string> DtypeNames = new()
    {
        [ScalarType.Float32] = "F32", [ScalarType.Float64] = "F64", [ScalarType.Float16] = "F16", [ScalarType.BFloat16] = "BF16",
        [ScalarType.Int64] = "I64", [ScalarType.Int32] = "I32", [ScalarType.Int16] = "I16", [ScalarType.Int8] = "I8",
        [ScalarType.Byte] = "U8", [ScalarType.Bool] = "BOOL",
    };

    /// <summary>Writes the tensors (sorted by name, like safetensors does) to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var scope = NewDisposeScope();
        var entries = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (Name: kv.Key, Tensor: kv.Value.detach().cpu().contiguous()))
            .ToList();
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        long offset = 0;
        foreach (var (name, t) in entries)
        {
            if (!DtypeNames.TryGetValue(t.dtype, out var dtype))
                throw new NotSupportedException($"safetensors: tensor '{name}' has unsupported dtype {t.dtype}");
            var size = t.NumberOfElements * t.ElementSize;
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode)d).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + size),
            };
            offset += size;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        var padded = (json.Length + 7) / 8 * 8;
        Span<byte> lengthBytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(lengthBytes, (ulong)padded);
        stream.Write(lengthBytes);
        stream.Write(json);
        for (var i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var (_, t) in entries)
            if (t.NumberOfElements > 0) stream.Write(t.bytes);
    }

    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null) =>
        AtomicFile.Write(path, s => Write(s, tensors, metadata));

    /// <summary>Reads every tensor (CPU) and the metadata; the caller owns the tensors.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new InvalidDataException($"{path}: not a safetensors file (shorter than its 8-byte header length)");
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > (ulong)(bytes.Length - 8))
            throw new InvalidDataException($"{path}: safetensors header length {headerLength} exceeds the file size {bytes.Length}");
        JsonObject header;
        try
        {
            header = JsonNode.Parse(bytes.AsSpan(8, (int)headerLength)) as JsonObject
                     ?? throw new InvalidDataException($"{path}: safetensors header is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: safetensors header is not valid JSON: {e.Message}");
        }
        var dataStart = 8 + (long)headerLength;
        var tensors = new Dictionary<string, Tensor>();
        var metadata = new Dictionary<string, string>();
        try
        {
            foreach (var (name, node) in header)
            {
                if (name == "__metadata__")
                {
                    foreach (var (k, v) in node!.AsObject()) metadata[k] = v!.GetValue<string>();
                    continue;
                }
                var dtypeName = node!["dtype"]!.GetValue<string>();
                var dtype = DtypeNames.FirstOrDefault(kv => kv.Value == dtypeName).Key;
                if (!DtypeNames.ContainsKey(dtype) || DtypeNames[dtype] != dtypeName)
                    throw new InvalidDataException($"{path}: tensor '{name}' has unsupported dtype {dtypeName}");
                var shape = node["shape"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
                var offsets = node["data_offsets"]!.AsArray().Select(d => d!.GetValue<long>()).ToArray();
                var t = empty(shape, dtype);
                var size = t.NumberOfElements * t.ElementSize;
                if (offsets.Length != 2 || offsets[1] - offsets[0] != size || dataStart + offsets[1] > bytes.Length)
                    throw new InvalidDataException($"{path}: tensor '{name}' has data_offsets [{string.Join(", ", offsets)}] inconsistent with shape [{string.Join(", ", shape)}] {dtypeName} or the file size");
                if (size > 0) t.bytes = bytes.AsSpan((int)(dataStart + offsets[0]), (int)size);
                tensors[name] = t;
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return (tensors, metadata);
    }
}
