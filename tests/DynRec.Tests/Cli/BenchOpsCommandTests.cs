using System.CommandLine;
using System.Text.Json;
using DynRec.Cli;
using DynRec.Cli.Commands;

namespace DynRec.Tests.Cli;

/// <summary>`dynrec bench ops` in-process at tiny sizes: the table, the JSON file, bad options.</summary>
public class BenchOpsCommandTests
{
    private static (int Code, string Error) Run(params string[] args)
    {
        var root = new RootCommand("test") { BenchCommand.Create(TrainingServices.Default) };
        var error = new StringWriter();
        var code = CliErrors.Invoke(root, args, error);
        return (code, error.ToString());
    }

    [Test]
    public void TinyRunWritesAJsonReportWithOneRowPerCase()
    {
        var dir = Directory.CreateTempSubdirectory("dynrec-bench-ops-").FullName;
        try
        {
            var json = Path.Combine(dir, "ops.json");
            var (code, error) = Run("bench", "ops", "--tiny", "--batch", "5", "--min-seconds", "0.005", "--json", json);
            Assert.That(code, Is.EqualTo(0), error);
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            var root = doc.RootElement;
            Assert.That(root.GetProperty("sizes").GetProperty("batch").GetInt32(), Is.EqualTo(5), "--batch overrides the sizes' batch");
            Assert.That(root.GetProperty("threads").GetInt32(), Is.GreaterThan(0));
            Assert.That(root.GetProperty("load_average_start").GetString(), Is.Not.Empty);
            var rows = root.GetProperty("rows");
            Assert.That(rows.GetArrayLength(), Is.EqualTo(11));
            foreach (var row in rows.EnumerateArray())
                Assert.That(row.GetProperty("error").GetDouble(), Is.LessThan(1e-4), row.GetProperty("shape").GetString());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void OpsSelectsCases()
    {
        var dir = Directory.CreateTempSubdirectory("dynrec-bench-ops-").FullName;
        try
        {
            var json = Path.Combine(dir, "ops.json");
            var (code, error) = Run("bench", "ops", "--tiny", "--min-seconds", "0.005", "--ops", "embeddings, epnet", "--json", json);
            Assert.That(code, Is.EqualTo(0), error);
            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            Assert.That(doc.RootElement.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("op").GetString()),
                Is.EqualTo(new[] { "epnet", "embeddings" }));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void BadOptionsAreOneLineUserErrors()
    {
        foreach (var (args, expected) in new[]
                 {
                     (new[] { "bench", "ops", "--threads", "-1" }, "--threads must be >= 0"),
                     (new[] { "bench", "ops", "--min-seconds", "0" }, "--min-seconds must be > 0"),
                     (new[] { "bench", "ops", "--batch", "0" }, "--batch must be >= 1"),
                     (new[] { "bench", "ops", "--ops", "embeddings,softmax" }, "--ops: unknown op 'softmax'; valid: gate_nu, gated_linear"),
                 })
        {
            var (code, error) = Run(args);
            Assert.That(code, Is.EqualTo(CliErrors.UserError), error);
            Assert.That(error.Trim(), Does.StartWith("dynrec: error: ").And.Contain(expected));
        }
    }
}
