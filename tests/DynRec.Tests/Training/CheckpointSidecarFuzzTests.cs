using System.Text.Json.Nodes;
using DynRec.Cli;
using DynRec.Config;
using DynRec.Training;
using DynRec.Training.Checkpointing;

namespace DynRec.Tests.Training;

/// <summary>
/// Seeded corruptions of checkpoint.json (values nulled, retyped or removed anywhere in the
/// tree, bytes dropped or replaced): reading it and using what `eval`/`--resume` use (the
/// schema check, the schema, the config, the history) must succeed or fail with an exception
/// the CLI reports as one line (<see cref="CliErrors.IsUserError"/>) -- never a
/// NullReferenceException or another stack trace.
/// </summary>
public class CheckpointSidecarFuzzTests
{
    [Test]
    public void CorruptedSidecarsReadOrFailAsUserErrors()
    {
        var valid = new CheckpointInfo
        {
            Model = "dnn",
            ConfigYaml = RunConfig.Load("dnn", null, []).ToYaml(),
            Schema = SchemaInfo.From(FakeBatchSource.DefaultSchema),
            Epoch = 2,
            Step = 20,
            InProgress = new EpochProgress(3, 100, 12.5, 100),
            Optimizer = "adam",
            Rng = new RngInfo(1, 2),
            EarlyStopping = new EarlyStoppingInfo("auc_macro", 0.7, 2, 0),
            History = [new EpochRecord(2, 20, 0.5, 0.6, new() { ["auc_macro"] = 0.7 }, 1.0)],
        }.ToJson();
        var rng = new Random(20261128);
        int read = 0, rejected = 0;
        for (var c = 0; c < 400; c++)
        {
            var (json, what) = Corrupt(valid, rng);
            try
            {
                var info = CheckpointInfo.FromJson(json, "checkpoint.json");
                _ = info.Schema.Difference(FakeBatchSource.DefaultSchema);
                _ = info.Schema.ToSchema();
                _ = RunConfig.FromYaml(info.ConfigYaml, "checkpoint.json");
                _ = info.History.Sum(h => h.Epoch) + info.Model.Length + info.Optimizer.Length + info.Rng.Seed
                    + info.EarlyStopping.Metric.Length;
                read++;
            }
            catch (Exception e) when (CliErrors.IsUserError(e))
            {
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"case {c} ({what}): {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }
        }
        TestContext.Out.WriteLine($"400 corrupted sidecars: {read} read, {rejected} rejected");
        Assert.That(rejected, Is.GreaterThan(100));
    }

    private static (string Json, string What) Corrupt(string json, Random rng)
    {
        if (rng.Next(4) == 0)
        {
            var at = rng.Next(json.Length);
            var bytes = new[] { "", "\"", "{", "]", ",", "null", "-1", "1e400" }[rng.Next(8)];
            return (json.Remove(at, 1).Insert(at, bytes), $"char {at} replaced by '{bytes}'");
        }
        var root = JsonNode.Parse(json)!;
        var nodes = new List<(JsonNode Parent, string? Key, int Index)>();
        void Walk(JsonNode node)
        {
            if (node is JsonObject o)
                foreach (var (k, v) in o) { nodes.Add((o, k, -1)); if (v is not null) Walk(v); }
            else if (node is JsonArray a)
                for (var i = 0; i < a.Count; i++) { nodes.Add((a, null, i)); if (a[i] is { } v) Walk(v); }
        }
        Walk(root);
        var (parent, key, index) = nodes[rng.Next(nodes.Count)];
        JsonNode? replacement = rng.Next(5) switch
        {
            0 => null,
            1 => JsonValue.Create("x"),
            2 => JsonValue.Create(-1),
            3 => new JsonArray(),
            _ => new JsonObject(),
        };
        var what = $"{key ?? index.ToString()} set to {replacement?.ToJsonString() ?? "null"}";
        if (parent is JsonObject obj)
        {
            if (rng.Next(4) == 0) { obj.Remove(key!); what = $"{key} removed"; }
            else obj[key!] = replacement;
        }
        else ((JsonArray)parent)[index] = replacement;
        return (root.ToJsonString(), what);
    }
}
