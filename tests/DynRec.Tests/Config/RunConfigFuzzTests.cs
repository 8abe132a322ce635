using DynRec.Cli;
using DynRec.Config;

namespace DynRec.Tests.Config;

/// <summary>
/// Seeded corruptions of a user config (a shipped YAML with characters dropped or replaced by
/// YAML metacharacters, lines swapped, indented or cut) and of --set values: loading must
/// succeed or fail with an exception the CLI reports as one line
/// (<see cref="CliErrors.IsUserError"/>), then the typed accessors used by training must too.
/// </summary>
public class RunConfigFuzzTests
{
    private static readonly string[] Metacharacters =
        { ":", "-", "[", "]", "{", "}", "#", "&", "*", "!", "|", ">", "'", "\"", "%", "@", "`", "\t", "  ", "\n", "?", ",", "" };

    [Test]
    public void CorruptedConfigsLoadOrFailAsUserErrors()
    {
        var yaml = RunConfig.Load("pepnet", null, []).ToYaml();
        var rng = new Random(20261128);
        int loaded = 0, rejected = 0;
        for (var c = 0; c < 600; c++)
        {
            var (text, set, what) = Corrupt(yaml, rng);
            try
            {
                var config = RunConfig.LoadText("pepnet", text, "my.yaml", set);
                _ = config.Train.BatchSize + config.Train.Epochs + config.Train.Lr + config.Model.Ints("dnn_units").Length;
                _ = config.ToYaml();
                loaded++;
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
        TestContext.Out.WriteLine($"600 corrupted configs: {loaded} loaded, {rejected} rejected");
        Assert.That(loaded, Is.GreaterThan(0));
        Assert.That(rejected, Is.GreaterThan(150));
    }

    private static (string Yaml, string[] Set, string What) Corrupt(string yaml, Random rng)
    {
        var m = Metacharacters[rng.Next(Metacharacters.Length)];
        var lines = yaml.Split('\n').ToList();
        var l = rng.Next(lines.Count);
        switch (rng.Next(6))
        {
            case 0:
                var at = rng.Next(yaml.Length);
                return (yaml.Remove(at, 1).Insert(at, m), [], $"char {at} replaced by '{m}'");
            case 1:
                var cut = rng.Next(yaml.Length);
                return (yaml[..cut], [], $"cut at {cut}");
            case 2:
                var k = rng.Next(lines.Count);
                (lines[l], lines[k]) = (lines[k], lines[l]);
                return (string.Join('\n', lines), [], $"lines {l + 1} and {k + 1} swapped");
            case 3:
                lines[l] = new string(' ', rng.Next(1, 5)) + lines[l];
                return (string.Join('\n', lines), [], $"line {l + 1} indented");
            case 4:
                var value = string.Concat(Enumerable.Range(0, rng.Next(1, 4)).Select(_ => Metacharacters[rng.Next(Metacharacters.Length)] + rng.Next(10)));
                var key = new[] { "train.lr", "model.dnn_units", "train.task_weights.is_like", "train.early_stopping", "model" }[rng.Next(5)];
                return (yaml, [$"{key}={value}"], $"--set {key}={value}");
            default:
                var p = rng.Next(lines[l].Length + 1);
                lines[l] = lines[l].Insert(p, m);
                return (string.Join('\n', lines), [], $"'{m}' inserted in line {l + 1}");
        }
    }
}
