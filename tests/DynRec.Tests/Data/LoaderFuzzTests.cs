using DynRec.Data;

namespace DynRec.Tests.Data;

/// <summary>
/// Seeded random corruptions of kuairand_small (bytes dropped, duplicated or replaced by CSV
/// metacharacters, lines cut, swapped or duplicated, files truncated or emptied): loading
/// must either succeed or throw <see cref="DataFormatException"/> naming one of the folder's
/// files -- never another exception (an index out of range, a null reference, an overflow).
/// </summary>
[TestFixture]
public class LoaderFuzzTests
{
    private const int Cases = 300;
    private static readonly string[] Metacharacters = { ",", "\"", "\n", "\r\n", "", "-", "NaN", " ", "9999999999999999999999", "\t", "\0", "é" };

    [Test]
    public void CorruptedFilesLoadOrFailWithADataFormatException() =>
        Fuzz(() => DataFixtures.Copy("kuairand_small"), seed: 20261128);

    /// <summary>The same for a table folder (its dynrec-table.yaml among the files corrupted).</summary>
    [Test]
    public void CorruptedTableFoldersLoadOrFailWithADataFormatException() =>
        Fuzz(TableFixture.WriteDefault, seed: 20261129);

    /// <summary>The same for a table folder with user and item tables and a click history (its YAML, log and tables corrupted).</summary>
    [Test]
    public void CorruptedTableFoldersWithTablesAndAHistoryLoadOrFailWithADataFormatException() =>
        Fuzz(() =>
        {
            var wide = TableFixture.WriteRandom(rows: 60, days: 3, seed: 2);
            try
            {
                var folder = TableFixture.SplitIntoSideTables(wide);
                File.AppendAllText(Path.Combine(folder, DynRec.Data.Table.TableSchema.FileName), "history: {task: click, length: 4}\n");
                return folder;
            }
            finally { Directory.Delete(wide, recursive: true); }
        }, seed: 20261130);

    private static void Fuzz(Func<string> copyFolder, int seed)
    {
        var outcomes = new Dictionary<string, int> { ["loaded"] = 0, ["rejected"] = 0 };
        var rng = new Random(seed);
        for (var c = 0; c < Cases; c++)
        {
            var dir = copyFolder();
            try
            {
                var files = Directory.GetFiles(dir).Order(StringComparer.Ordinal).ToArray();
                var victim = files[rng.Next(files.Length)];
                var mutation = Corrupt(victim, rng);
                try
                {
                    DataFixtures.LoadUncached(dir);
                    outcomes["loaded"]++;
                }
                catch (DataFormatException e)
                {
                    outcomes["rejected"]++;
                    Assert.That(e.File, Does.StartWith(dir), $"case {c} ({mutation}): {e.Message}");
                }
                catch (Exception e)
                {
                    Assert.Fail($"case {c} ({mutation} in {Path.GetFileName(victim)}): {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
                }
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        TestContext.Out.WriteLine($"{Cases} corrupted folders: {outcomes["loaded"]} loaded, {outcomes["rejected"]} rejected");
        // Both outcomes must occur, or the mutations are too weak (or too strong) to mean anything.
        Assert.That(outcomes["loaded"], Is.GreaterThan(0));
        Assert.That(outcomes["rejected"], Is.GreaterThan(Cases / 4));
    }

    /// <summary>Applies one random corruption to the file; returns what it did.</summary>
    private static string Corrupt(string path, Random rng)
    {
        var text = File.ReadAllText(path);
        var lines = text.Split('\n').ToList();
        int At(int n) => rng.Next(Math.Max(1, n));
        string what;
        switch (rng.Next(8))
        {
            case 0:
                var i = At(text.Length);
                text = text.Remove(i, Math.Min(1 + rng.Next(4), text.Length - i));
                what = $"bytes removed at {i}";
                break;
            case 1:
                var j = At(text.Length);
                var m = Metacharacters[rng.Next(Metacharacters.Length)];
                text = text.Insert(j, m);
                what = $"'{m.Replace("\n", "\\n")}' inserted at {j}";
                break;
            case 2:
                var k = At(text.Length);
                if (k < text.Length) text = text.Remove(k, 1).Insert(k, Metacharacters[rng.Next(Metacharacters.Length)]);
                what = $"byte {k} replaced";
                break;
            case 3:
                var cut = At(text.Length);
                text = text[..cut];
                what = $"truncated at {cut}";
                break;
            case 4:
                var a = At(lines.Count);
                var b = At(lines.Count);
                (lines[a], lines[b]) = (lines[b], lines[a]);
                text = string.Join('\n', lines);
                what = $"lines {a + 1} and {b + 1} swapped";
                break;
            case 5:
                var d = At(lines.Count);
                lines.Insert(d, lines[d]);
                text = string.Join('\n', lines);
                what = $"line {d + 1} duplicated";
                break;
            case 6:
                var l = At(lines.Count);
                var cells = lines[l].Split(',');
                cells[At(cells.Length)] = Metacharacters[rng.Next(Metacharacters.Length)];
                lines[l] = string.Join(',', cells);
                text = string.Join('\n', lines);
                what = $"a cell of line {l + 1} replaced";
                break;
            default:
                text = rng.Next(2) == 0 ? "" : "\n\n\n";
                what = "file emptied";
                break;
        }
        File.WriteAllText(path, text);
        return what;
    }
}
