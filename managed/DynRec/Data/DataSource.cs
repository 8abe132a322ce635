using DynRec.Data.KuaiRand;
using DynRec.Data.Synthetic;
using DynRec.Data.Table;

namespace DynRec.Data;

/// <summary>Entry point of the data layer: "synthetic" or a KuaiRand folder -> a preprocessed split.</summary>
public static class DataSource
{
    public const string SyntheticName = "synthetic";

    /// <summary>
    /// Loads <paramref name="dataArg"/>: "synthetic" (generated once into a cache
    /// folder, then loaded like any folder) or a folder in KuaiRand's raw format.
    /// The preprocessed result is cached (binary, keyed by the sources' names,
    /// sizes and mtimes) and reused while the sources are unchanged.
    /// </summary>
    public static DataSplit Load(string dataArg, LoadOptions? options = null)
    {
        options ??= new LoadOptions();
        if (options.SequenceLength < 0) throw new ArgumentException($"sequence length must be >= 0, got {options.SequenceLength}");
        var folder = dataArg == SyntheticName ? EnsureSynthetic(options) : dataArg;
        return LoadFolder(folder, options);
    }

    /// <summary>The folder the default synthetic set lives in (generated on first use).</summary>
    public static string EnsureSynthetic(LoadOptions options)
    {
        var config = options.Synthetic;
        var folder = options.SyntheticDirectory ?? Path.Combine(CacheRoot(), $"synthetic-{config.Seed}-{config.Rows}");
        if (SyntheticGenerator.IsComplete(folder, config)) return folder;
        options.Log?.Invoke($"generating synthetic data ({config.Rows:N0} rows, seed {config.Seed}) into {folder}");
        SyntheticGenerator.Generate(folder, config);
        return folder;
    }

    /// <summary>
    /// Loads a folder: a table folder (one with <see cref="TableSchema.FileName"/>, see
    /// <see cref="TableSchema"/>) or one in KuaiRand's raw format.
    /// </summary>
    public static DataSplit LoadFolder(string folder, LoadOptions options)
    {
        if (!Directory.Exists(folder))
            throw new DataFormatException(folder, 0, null, $"data folder not found (expected a KuaiRand folder, a folder with {TableSchema.FileName}, or 'synthetic')");
        IEnumerable<string> files;
        string optionsKey;
        Func<DataSplit> parse;
        if (TableSchema.FileIn(folder) is { } schemaFile)
        {
            var schema = TableSchema.Read(schemaFile);
            files = schema.AllFiles.Prepend(schemaFile).ToArray();
            optionsKey = "table";
            parse = () => TablePreprocessor.Load(schema, options);
        }
        else
        {
            var sources = KuaiRandSources.Find(folder);
            files = sources.All;
            optionsKey = OptionsKey(sources, options);
            parse = () => KuaiRandPreprocessor.Load(sources, options);
        }
        if (!options.UseCache) return parse();
        var fingerprint = options.Encoding?.Fingerprint();
        (string Key, string Path) Entry(string? encoding) =>
            (DataCache.Key(files, optionsKey + $";encoding={encoding}"),
             DataCache.PathFor(folder, options.CacheDirectory, encoding));
        DataSplit? Cached((string Key, string Path) entry)
        {
            var hit = DataCache.TryRead(entry.Path, entry.Key);
            if (hit != null) options.Log?.Invoke($"loaded preprocessed data from cache {entry.Path}");
            return hit;
        }
        // The folder's own cache serves an encoding equal to the one learned from it
        // (eval / predict on the training data): no second copy of the same data.
        if (fingerprint != null && Cached(Entry(null)) is { } own && own.Encoding.Fingerprint() == fingerprint) return own;
        var (key, cachePath) = Entry(fingerprint);
        if (Cached((key, cachePath)) is { } cached) return cached;
        var split = parse();
        try
        {
            DataCache.Write(cachePath, key, split);
            options.Log?.Invoke($"wrote cache {cachePath}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            options.Log?.Invoke($"could not write cache {cachePath}: {e.Message}");  // the data itself is fine
        }
        return split;
    }

    private static string OptionsKey(KuaiRandSources sources, LoadOptions options) =>
        $"seq={options.SequenceLength};stats={(sources.HasVideoStatistic ? string.Join(",", options.StatisticColumns) : "")}";

    private static string CacheRoot()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var root = string.IsNullOrEmpty(xdg)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
            : xdg;
        return Path.Combine(root, "dynrec");
    }
}
