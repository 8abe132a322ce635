using DynRec.Data;

namespace DynRec.Tests.Data;

/// <summary>Fixture folders (copied next to the test binaries) and scratch copies of them.</summary>
internal static class DataFixtures
{
    public static string Folder(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", name);

    /// <summary>A scratch copy of a fixture folder; the caller deletes it.</summary>
    public static string Copy(string name)
    {
        var target = NewTempDir();
        foreach (var file in Directory.GetFiles(Folder(name)))
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        return target;
    }

    public static string NewTempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "dynrec-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Loads a folder without touching any cache.</summary>
    public static DataSplit LoadUncached(string folder) => DataSource.Load(folder, new LoadOptions { UseCache = false });
}
