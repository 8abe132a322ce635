using DynRec.Data;

namespace DynRec.Tests.Data;

public class LoaderProgressTests
{
    /// <summary>A long load reports each phase with the time since it started, in order.</summary>
    [Test]
    public void EveryPhaseIsReportedInOrder()
    {
        var lines = new List<string>();
        DataSource.Load(DataFixtures.Folder("kuairand_small"), new LoadOptions { UseCache = false, Log = lines.Add });
        string[] phases = { "parsed ", "read the side tables (4 users, 5 videos)", "encoded the vocabularies", "(user, date) click sequences", "preprocessed into " };
        var at = phases.Select(p => lines.FindIndex(l => l.Contains(p))).ToArray();
        Assert.That(at, Has.All.GreaterThanOrEqualTo(0), string.Join("\n", lines));
        Assert.That(at, Is.Ordered.Ascending);
        Assert.That(lines.Where(l => l.Contains(" at ")), Has.All.Match(@" at \d+\.\d\ds$"));
    }
}
