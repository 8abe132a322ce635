using System.Text;
using System.Text.Json;
using DynRec.Checkpoints;
using static TorchSharp.torch;

namespace DynRec.Tests.Checkpoints;

[TestFixture]
public class SafeTensorsTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("dynrec-st-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void FileLayoutFollowsTheSafetensorsFormat()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(_dir, "t.safetensors");
        var b = tensor(new float[] { 1, 2, 3, 4, 5, 6 }, new long[] { 2, 3 });
        var a = tensor(new float[] { -1.5f }, new long[] { 1 });
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["z.b"] = b, ["a"] = a },
            new Dictionary<string, string> { ["format"] = "pt" });

        var bytes = File.ReadAllBytes(path);
        var headerLength = (long)BitConverter.ToUInt64(bytes, 0);
        Assert.That(headerLength % 8, Is.Zero, "header padded to 8 bytes");
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength).TrimEnd(' '));
        var root = header.RootElement;
        Assert.That(root.GetProperty("__metadata__").GetProperty("format").GetString(), Is.EqualTo("pt"));
        Assert.That(root.GetProperty("a").GetProperty("dtype").GetString(), Is.EqualTo("F32"));
        Assert.That(root.GetProperty("a").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()), Is.EqualTo(new[] { 0L, 4L }));
        Assert.That(root.GetProperty("z.b").GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), Is.EqualTo(new[] { 2L, 3L }));
        Assert.That(root.GetProperty("z.b").GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()), Is.EqualTo(new[] { 4L, 28L }));
        Assert.That(bytes.Length, Is.EqualTo(8 + headerLength + 28));
        // Sorted names: "a" first, then row-major little-endian floats of "z.b".
        Assert.That(BitConverter.ToSingle(bytes, (int)(8 + headerLength)), Is.EqualTo(-1.5f));
        Assert.That(BitConverter.ToSingle(bytes, (int)(8 + headerLength + 4 + 5 * 4)), Is.EqualTo(6f));

        var (tensors, metadata) = SafeTensors.Load(path);
        Assert.That(TestUtil.Identical(tensors["z.b"], b), Is.True);
        Assert.That(TestUtil.Identical(tensors["a"], a), Is.True);
        Assert.That(metadata["format"], Is.EqualTo("pt"));
    }

    [Test]
    public void OverwriteReplacesTheFileWhole()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(_dir, "t.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = ones(100) });
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["w"] = zeros(3) });
        var (tensors, _) = SafeTensors.Load(path);
        Assert.That(tensors["w"].shape, Is.EqualTo(new long[] { 3 }));
        Assert.That(Directory.GetFiles(_dir), Has.Length.EqualTo(1));
    }

    [Test]
    public void TruncatedFileIsRejectedNamingTheTensor()
    {
        using var scope = NewDisposeScope();
        var path = Path.Combine(_dir, "t.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["weights"] = ones(10) });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^8]);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        Assert.That(e!.Message, Does.Contain("'weights'"));
    }

    [Test]
    public void GarbageIsRejected()
    {
        var path = Path.Combine(_dir, "junk.safetensors");
        File.WriteAllBytes(path, new byte[] { 1, 2, 3 });
        Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
        File.WriteAllBytes(path, BitConverter.GetBytes(4UL).Concat("{{{{"u8.ToArray()).ToArray());
        Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path));
    }
}
