using System.Diagnostics;
using System.Text.Json;
using DynRec.Checkpoints;
using DynRec.Data;
using DynRec.Models;
using DynRec.Ops;
using static TorchSharp.torch;

namespace DynRec.Tests.Models;

// Cross-framework check: tests/python/torch_models.py rebuilds each model from
// the README with plain torch.nn modules, loads our model.safetensors with
// load_state_dict(strict=True) (so our names and [out, in] shapes are PyTorch's)
// and must reproduce the logits of both kernel paths to 1e-4 relative.
// Needs a python3 with PyTorch (Debian: python3-torch); ignored without one
// unless DYNREC_REQUIRE_TORCH=1.
[TestFixture]
public class PyTorchParityTests
{
    private const int Rows = 37; // odd, so no kernel path gets an aligned batch
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("dynrec-torch-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    // The option sets the other model tests use: every model.
    public static IEnumerable<TestCaseData> Cases() =>
        ModelTestData.OptionSets()
            .Select(s => new TestCaseData(s.Model, s.Options).SetArgDisplayNames(s.Label));

    [TestCaseSource(nameof(Cases))]
    public void TorchModuleLoadsTheWeightsStrictlyAndGivesTheSameLogits(string name, Dictionary<string, object?> options)
    {
        var python = RequireTorchPython();
        using var scope = NewDisposeScope();
        var schema = ModelTestData.Schema();
        using var model = Build(name, schema, options);
        using var batch = ModelTestData.RandomBatch(schema, Rows, seed: 6);
        Tensor Logits(Kernels kernels)
        {
            model.Kernels = kernels;
            using var _ = no_grad();
            return model.forward(batch).detach().clone();
        }

        var expected = new Dictionary<string, Tensor>
        {
            ["expected_logits"] = Logits(Kernels.Native),
            ["expected_logits_reference"] = Logits(Kernels.Reference),
        };
        // Gradients of sum(logits * probe) through the native kernels' backward, for the
        // script to compare with torch.autograd on its own modules.
        model.Kernels = Kernels.Native;
        var probe = randn(expected["expected_logits"].shape, generator: new Generator(23));
        model.zero_grad();
        (model.forward(batch) * probe).sum().backward();
        expected["probe"] = probe;
        foreach (var (param, p) in model.named_parameters())
            if (p.grad is { } g) expected["grad." + param] = g.detach().clone();
        var files = Write(model, batch, name, expected);
        var (code, output) = RunScript(python, name, files);
        TestContext.Out.WriteLine(output);
        Assert.That(code, Is.Zero, $"torch_models.py --model {name} failed:\n{output}");
    }

    // The script must refuse a weights file that load_state_dict(strict=True) would
    // refuse, or the test above could pass without checking our names.
    [Test]
    public void ScriptFailsOnAMissingTensor()
    {
        var python = RequireTorchPython();
        using var scope = NewDisposeScope();
        var schema = ModelTestData.Schema();
        var (_, name, options) = ModelTestData.OptionSets().First(s => s.Model == "pepnet");
        using var model = Build(name, schema, options);
        using var batch = ModelTestData.RandomBatch(schema, Rows, seed: 6);
        Tensor logits;
        using (no_grad()) logits = model.forward(batch).detach().clone();
        var files = Write(model, batch, name, new() { ["expected_logits"] = logits });
        SafeTensors.Save(files.Weights, ModelWeights.State(model).Where(s => s.Key != "ppnet.gates.1.fc2.bias"));

        var (code, output) = RunScript(python, name, files);
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("ppnet.gates.1.fc2.bias"), output);
    }

    // Seeded, eval mode, every tensor perturbed: the init leaves biases and padding
    // rows at zero, which would hide a dropped bias or an unmasked padding row.
    private static MultiTaskModel Build(string name, FeatureSchema schema, Dictionary<string, object?> options)
    {
        manual_seed(13);
        var model = ModelFactory.Create(name, schema, options);
        model.eval();
        var g = new Generator(17);
        using (no_grad())
            foreach (var p in model.parameters())
                p.add_(randn(p.shape, generator: g) * 0.2f);
        return model;
    }

    private sealed record Files(string Weights, string Batch, string Options);

    private Files Write(MultiTaskModel model, Batch batch, string name, Dictionary<string, Tensor> logits)
    {
        var files = new Files(Path.Combine(_dir, "model.safetensors"), Path.Combine(_dir, "batch.safetensors"),
            Path.Combine(_dir, "options.json"));
        ModelWeights.Save(model, files.Weights);
        var tensors = new Dictionary<string, Tensor>(logits) { ["sparse"] = batch.Sparse };
        if (batch.Sequence is not null) tensors["sequence"] = batch.Sequence;
        SafeTensors.Save(files.Batch, tensors);
        File.WriteAllText(files.Options, JsonSerializer.Serialize(new
        {
            model = name,
            options = OptionBinder.ToDictionary(model.Options),
            schema = SchemaJson(model.Schema),
        }));
        return files;
    }

    private static object SchemaJson(FeatureSchema s) => new
    {
        fields = s.SparseFields.Select(f => new
        {
            name = f.Name,
            vocabulary_size = f.VocabularySize,
            groups = Enum.GetValues<FieldGroup>().Where(g => g != FieldGroup.None && f.Groups.HasFlag(g))
                .Select(g => g.ToString().ToLowerInvariant()),
        }),
        sequence = s.Sequence is { } q
            ? new { name = q.Name, shares_vocabulary_with = q.SharesVocabularyWith, max_length = q.MaxLength }
            : null,
        tasks = s.Tasks,
        scenario_field = s.ScenarioField,
    };

    private static string ScriptPath => Path.Combine(TestContext.CurrentContext.TestDirectory, "python", "torch_models.py");

    private static (int Code, string Output) RunScript(string python, string name, Files files) =>
        Run(python, ScriptPath, "--model", name, "--weights", files.Weights, "--batch", files.Batch, "--options", files.Options);

    private static (int Code, string Output) Run(string exe, params string[] args)
    {
        var info = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{exe} timed out after 2 minutes");
        }
        return (process.ExitCode, $"stdout:\n{stdout.Result}\nstderr:\n{stderr.Result}");
    }

    // DYNREC_TORCH_PYTHON, then python3, then /usr/bin/python3: the first that imports torch.
    private static readonly Lazy<string?> TorchPython = new(() =>
        new[] { Environment.GetEnvironmentVariable("DYNREC_TORCH_PYTHON"), "python3", "/usr/bin/python3" }
            .Where(p => !string.IsNullOrWhiteSpace(p))
            .FirstOrDefault(p =>
            {
                try
                {
                    return Run(p!, "-c", "import torch").Code == 0;
                }
                catch (System.ComponentModel.Win32Exception)
                {
                    return false; // not installed
                }
            }));

    private static string RequireTorchPython()
    {
        if (TorchPython.Value is { } python) return python;
        const string message = "no python3 with PyTorch (Debian: apt-get install python3-torch)";
        if (Environment.GetEnvironmentVariable("DYNREC_REQUIRE_TORCH") == "1") Assert.Fail(message);
        Assert.Ignore(message);
        return "";
    }
}
