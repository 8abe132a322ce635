using System.CommandLine;
using DynRec.Cli;
using DynRec.Cli.Commands;
using DynRec.Tests.Cli;

namespace DynRec.Tests.Serving;

/// <summary>A small PEPNet trained on a test table folder, and that folder's rows, for the table scorer's tests.</summary>
internal static class TrainedTableModel
{
    /// <summary>Trains PEPNet one epoch (batch 64, emb_dim 4) on <paramref name="data"/> into <paramref name="run"/>.</summary>
    public static void Train(string data, string run)
    {
        var root = new RootCommand("test") { TrainCommand.Create(RealDataServices.Uncached) };
        var error = new StringWriter();
        var code = CliErrors.Invoke(root, ["train", "--model", "pepnet", "--data", data, "--out", run, "--epochs", "1",
            "--set", "train.batch_size=64", "--set", "model.emb_dim=4", "--set", "train.early_stopping.patience=0"], error);
        Assert.That(code, Is.Zero, error.ToString());
    }

    /// <summary>The header and rows (cells split at commas) of a <see cref="Data.TableFixture.WriteRandom"/> table.</summary>
    public static (string[] Header, string[][] Rows) Rows(string folder)
    {
        var lines = File.ReadAllLines(Path.Combine(folder, "all.csv"));
        return (lines[0].Split(','), lines.Skip(1).Select(l => l.Split(',')).ToArray());
    }
}
