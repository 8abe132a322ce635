using DynRec.Cli;
using NUnit.Framework;

namespace DynRec.Tests.Cli;

/// <summary>Tables written to a pipe or a file are not wrapped at Spectre.Console's 80-column default.</summary>
public class ConsoleWidthTests
{
    [TestCase(null, ConsoleWidth.RedirectedDefault)]
    [TestCase("", ConsoleWidth.RedirectedDefault)]
    [TestCase("abc", ConsoleWidth.RedirectedDefault)]
    [TestCase("0", ConsoleWidth.RedirectedDefault)]
    [TestCase("-5", ConsoleWidth.RedirectedDefault)]
    [TestCase("100", 100)]
    [TestCase("300", 300)]
    public void RedirectedWidthComesFromColumnsOrTheDefault(string? columns, int expected) =>
        Assert.That(ConsoleWidth.Resolve(columns), Is.EqualTo(expected));

    [Test]
    public void PipedBenchOpsTableKeepsOneLinePerRow()
    {
        // The real CLI with stdout redirected: before, every row of this table wrapped into several lines.
        var (code, stdout, stderr) = CliProcess.Run(new Dictionary<string, string?> { ["COLUMNS"] = null },
            "bench", "ops", "--ops", "hyper_linear", "--batch", "16", "--threads", "1");
        Assert.That(code, Is.Zero, $"stdout:\n{stdout}\nstderr:\n{stderr}");

        var rows = stdout.Split('\n').Where(l => l.StartsWith("│")).ToList();
        Assert.That(rows, Has.Count.EqualTo(4), stdout); // header + the three hyper_linear shapes
        Assert.That(rows.Count(r => r.Contains("hyper_linear") && r.Contains("KK 64x64, cond 16")), Is.EqualTo(1), stdout);
        Assert.That(rows.Count(r => r.Contains("hyper_linear") && r.Contains("NK 256x64, cond 16")), Is.EqualTo(1), stdout);
        Assert.That(rows.Count(r => r.Contains("hyper_linear") && r.Contains("shared 64x64, cond 16, 12 rows each")), Is.EqualTo(1), stdout);
        Assert.That(stdout.Split('\n').Max(l => l.Length), Is.GreaterThan(80), "the table was squeezed into 80 columns");
    }
}
