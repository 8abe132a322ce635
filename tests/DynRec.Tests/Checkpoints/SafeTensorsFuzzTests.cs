using DynRec.Checkpoints;
using static TorchSharp.torch;

namespace DynRec.Tests.Checkpoints;

/// <summary>
/// Seeded corruptions of a safetensors file (header bytes flipped or replaced by JSON
/// metacharacters, the file truncated or extended, the length prefix changed): loading must
/// succeed or throw <see cref="InvalidDataException"/> naming the file -- never another
/// exception, never a crash. (Damage inside the data section changes values undetectably:
/// safetensors has no checksum.)
/// </summary>
public class SafeTensorsFuzzTests
{
    private static readonly byte[][] Metacharacters =
        new[] { "\"", "{", "}", "[", "]", ",", ":", "-", "9", "1e99", "null", "\\", "\0" }
            .Select(System.Text.Encoding.UTF8.GetBytes).ToArray();

    [Test]
    public void CorruptedFilesLoadOrFailWithInvalidDataException()
    {
        var dir = Directory.CreateTempSubdirectory("dynrec-st-fuzz-").FullName;
        try
        {
            var path = Path.Combine(dir, "model.safetensors");
            using (var w = TestUtil.Randn(3, 5))
            using (var ids = arange(7L))
            using (var empty = zeros(0, 2))
                SafeTensors.Save(path, new Dictionary<string, Tensor> { ["layer.weight"] = w, ["ids"] = ids, ["empty"] = empty },
                    new Dictionary<string, string> { ["format"] = "pt" });
            var original = File.ReadAllBytes(path);
            var headerEnd = 8 + (int)BitConverter.ToUInt64(original, 0);
            var rng = new Random(20261128);
            int loaded = 0, rejected = 0;
            for (var c = 0; c < 500; c++)
            {
                var (bytes, what) = Corrupt(original, headerEnd, rng);
                File.WriteAllBytes(path, bytes);
                try
                {
                    var (tensors, _) = SafeTensors.Load(path);
                    foreach (var t in tensors.Values) t.Dispose();
                    loaded++;
                }
                catch (InvalidDataException e)
                {
                    rejected++;
                    Assert.That(e.Message, Does.StartWith(path), $"case {c} ({what})");
                }
                catch (Exception e)
                {
                    Assert.Fail($"case {c} ({what}): {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
                }
            }
            TestContext.Out.WriteLine($"500 corrupted files: {loaded} loaded, {rejected} rejected");
            Assert.That(rejected, Is.GreaterThan(250));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static (byte[] Bytes, string What) Corrupt(byte[] original, int headerEnd, Random rng)
    {
        var bytes = (byte[])original.Clone();
        switch (rng.Next(5))
        {
            case 0:
                var at = 8 + rng.Next(headerEnd - 8);
                bytes[at] ^= (byte)(1 << rng.Next(8));
                return (bytes, $"bit flipped at header byte {at}");
            case 1:
                var i = 8 + rng.Next(headerEnd - 8);
                var m = Metacharacters[rng.Next(Metacharacters.Length)];
                return (bytes[..i].Concat(m).Concat(bytes[(i + 1)..]).ToArray(), $"header byte {i} replaced");
            case 2:
                var cut = rng.Next(bytes.Length);
                return (bytes[..cut], $"truncated at {cut}");
            case 3:
                return (bytes.Concat(new byte[1 + rng.Next(16)]).ToArray(), "extended");
            default:
                var length = rng.Next(3) switch { 0 => 0UL, 1 => ulong.MaxValue - (ulong)rng.Next(100), _ => (ulong)rng.Next(headerEnd + 16) };
                BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), length);
                return (bytes, $"header length set to {length}");
        }
    }
}
