using System.Buffers.Binary;
using System.Text.Json.Nodes;
using DynRec.Checkpoints;
using static TorchSharp.torch;

namespace DynRec.Tests.Checkpoints;

public class SafeTensorsFormatTests
{
    [Test]
    public void RoundTripsDtypesShapesAndMetadata()
    {
        var path = Path.Combine(Path.GetTempPath(), $"dynrec-st-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var f = TestUtil.Randn(1, 3, 5);
            using var d = arange(7, dtype: ScalarType.Float64);
            using var l = tensor(new long[] { -3, 1L << 40 });
            using var b = tensor(new byte[] { 1, 2, 255 });
            using var scalar = tensor(42L);
            using var empty = zeros(0, 4);
            using var strided = TestUtil.Randn(2, 4, 6).t(); // non-contiguous: saved as its logical layout
            var tensors = new Dictionary<string, Tensor> { ["w.f"] = f, ["d"] = d, ["l"] = l, ["b"] = b, ["scalar"] = scalar, ["empty"] = empty, ["strided"] = strided };
            SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });

            var bytes = File.ReadAllBytes(path);
            var headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            Assert.That(headerLength % 8, Is.Zero, "header padded to 8 bytes");
            var header = JsonNode.Parse(System.Text.Encoding.UTF8.GetString(bytes, 8, (int)headerLength))!.AsObject();
            Assert.That(header["w.f"]!["dtype"]!.GetValue<string>(), Is.EqualTo("F32"));
            Assert.That(header["__metadata__"]!["format"]!.GetValue<string>(), Is.EqualTo("pt"));

            var (loaded, metadata) = SafeTensors.Load(path);
            try
            {
                Assert.That(metadata["format"], Is.EqualTo("pt"));
                foreach (var (name, t) in tensors)
                {
                    Assert.That(loaded[name].dtype, Is.EqualTo(t.dtype), name);
                    Assert.That(loaded[name].shape, Is.EqualTo(t.shape), name);
                    Assert.That(loaded[name].eq(t).all().item<bool>(), Is.True, name);
                }
            }
            finally
            {
                foreach (var t in loaded.Values) t.Dispose();
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void CorruptFilesFailWithTheFileName()
    {
        var path = Path.Combine(Path.GetTempPath(), $"dynrec-st-{Guid.NewGuid():N}.safetensors");
        try
        {
            File.WriteAllBytes(path, [1, 2, 3]);
            Assert.That(Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path))!.Message, Does.Contain(path));
            var bytes = new byte[16];
            BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1000);
            File.WriteAllBytes(path, bytes);
            Assert.That(Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path))!.Message, Does.Contain("exceeds the file size"));
            using (var t = ones(4))
                SafeTensors.Save(path, new Dictionary<string, Tensor> { ["x"] = t });
            var full = File.ReadAllBytes(path);
            File.WriteAllBytes(path, full[..^4]); // truncated data
            Assert.That(Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path))!.Message, Does.Contain("'x'"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}

public class SafeTensorsInteropTests
{
    [Test]
    public void AnIndependentReaderLoadsOurFilesAndWeLoadItsFiles()
    {
        var ours = Path.Combine(Path.GetTempPath(), $"dynrec-st-{Guid.NewGuid():N}.safetensors");
        var theirs = Path.Combine(Path.GetTempPath(), $"dynrec-st-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var w = TestUtil.Randn(3, 4, 6);
            using var b = TestUtil.Randn(4, 4);
            SafeTensors.Save(ours, new Dictionary<string, Tensor> { ["fc1.weight"] = w, ["fc1.bias"] = b });
            // TorchSharp.PyBridge implements the format after the Hugging Face specification.
            var read = TorchSharp.PyBridge.Safetensors.LoadStateDict(ours);
            Assert.That(read.Keys, Is.EquivalentTo(new[] { "fc1.weight", "fc1.bias" }));
            Assert.That(read["fc1.weight"].eq(w).all().item<bool>(), Is.True);
            Assert.That(read["fc1.bias"].eq(b).all().item<bool>(), Is.True);

            TorchSharp.PyBridge.Safetensors.SaveStateDict(theirs, new Dictionary<string, Tensor> { ["x.weight"] = w });
            var (back, _) = SafeTensors.Load(theirs);
            Assert.That(back["x.weight"].eq(w).all().item<bool>(), Is.True);
        }
        finally
        {
            File.Delete(ours);
            File.Delete(theirs);
        }
    }
}
