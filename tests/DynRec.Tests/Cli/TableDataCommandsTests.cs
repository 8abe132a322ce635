using DynRec.Tests.Data;

namespace DynRec.Tests.Cli;

// The CLI on a table folder, as a user runs it: train, then predict (key columns named as in the
// table), and `data to-table` + `data stats` on a KuaiRand folder.
[TestFixture]
public class TableDataCommandsTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = new();

    [Test]
    public void TrainAndPredictOnATableFolder()
    {
        var data = TableFixture.WriteRandom(rows: 900, days: 3, seed: 8);
        var run = DataFixtures.NewTempDir();
        try
        {
            var train = CliProcess.Run(NoEnvironment, "train", "--model", "pepnet", "--data", data, "--out", run, "--epochs", "1",
                "--threads", "1", "--set", "train.batch_size=64", "--set", "model.emb_dim=4");
            Assert.That(train.Code, Is.Zero, train.Stderr);
            Assert.That(train.Stdout, Does.Contain("auc").And.Contain("domain0"), "metrics per scenario, named after the table's column");

            var predictions = Path.Combine(run, "p.csv");
            var predict = CliProcess.Run(NoEnvironment, "predict", "--checkpoint", run, "--out", predictions, "--threads", "1");
            Assert.That(predict.Code, Is.Zero, predict.Stderr);
            var lines = File.ReadAllLines(predictions);
            Assert.That(lines[0], Is.EqualTo("row_id,uid,iid,source_row,day,domain,click,buy,click_label,buy_label"));
            Assert.That(lines.Length - 1, Is.EqualTo(300), "the test day's rows");
            var first = lines[1].Split(',');
            Assert.That(first[3], Is.EqualTo("600"), "the first test row is the table's row 600");
            Assert.That(first[4], Is.EqualTo("3"));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
            Directory.Delete(run, recursive: true);
        }
    }

    [Test]
    public void PredictionsOfATableWithTextIdsJoinBackToItsRows()
    {
        var data = TableFixture.WriteRandom(rows: 600, days: 3, seed: 9, textIds: true);
        var run = DataFixtures.NewTempDir();
        try
        {
            var train = CliProcess.Run(NoEnvironment, "train", "--model", "apg", "--data", data, "--out", run, "--epochs", "1",
                "--threads", "1", "--set", "train.batch_size=64", "--set", "model.emb_dim=4");
            Assert.That(train.Code, Is.Zero, train.Stderr);
            Assert.That(train.Stdout, Does.Contain("domain0 = home").And.Contain("domain2 = video"), "per-scenario rows name the raw value");
            var predictions = Path.Combine(run, "p.csv");
            var predict = CliProcess.Run(NoEnvironment, "predict", "--checkpoint", run, "--out", predictions, "--threads", "1");
            Assert.That(predict.Code, Is.Zero, predict.Stderr);
            var source = File.ReadAllLines(Path.Combine(data, "all.csv"));
            var lines = File.ReadAllLines(predictions);
            Assert.That(lines.Length - 1, Is.EqualTo(200), "the test day's rows");
            foreach (var line in lines.Skip(1))
            {
                var p = line.Split(',');
                var row = source[1 + int.Parse(p[3])].Split(',');
                Assert.That((p[1], p[2], p[5]), Is.EqualTo((row[0], row[1], row[2])), "uid, iid and domain as the table wrote them");
            }
            Assert.That(lines.Skip(1).Select(l => l.Split(',')[5]).Distinct(), Is.SubsetOf(new[] { "home", "search", "video" }));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
            Directory.Delete(run, recursive: true);
        }
    }

    [Test]
    public void DataToTableWritesAFolderThatDataStatsReads()
    {
        var table = DataFixtures.NewTempDir();
        try
        {
            var convert = CliProcess.Run(NoEnvironment, "data", "to-table", "--data", DataFixtures.Folder("kuairand_small"), "--out", table);
            Assert.That(convert.Code, Is.Zero, convert.Stderr);
            Assert.That(convert.Stdout, Does.Contain("wrote 9 rows"));
            var stats = CliProcess.Run(NoEnvironment, "data", "stats", "--data", table, "--no-cache");
            Assert.That(stats.Code, Is.Zero, stats.Stderr);
            Assert.That(stats.Stdout, Does.Contain("rows in tab 4 (scenario 3)"));
        }
        finally { Directory.Delete(table, recursive: true); }
    }
}
