namespace DynRec.Data.KuaiRand;

/// <summary>The files of a KuaiRand folder, found by the release's name patterns.</summary>
public sealed record KuaiRandSources(
    string Folder,
    IReadOnlyList<string> Logs,
    string UserFeatures,
    string VideoBasic,
    string? VideoStatistic,
    string? Oracle)
{
    /// <summary>Side file of synthetic data: the true probabilities of every test row.</summary>
    public const string OracleFileName = "oracle_test.csv";

    /// <summary>Every file that feeds the preprocessed data (the cache key covers them all).</summary>
    public IEnumerable<string> All =>
        Logs.Append(UserFeatures).Append(VideoBasic)
            .Concat(VideoStatistic is null ? Array.Empty<string>() : new[] { VideoStatistic })
            .Concat(Oracle is null ? Array.Empty<string>() : new[] { Oracle });

    public static KuaiRandSources Find(string folder)
    {
        if (!Directory.Exists(folder))
            throw new DataFormatException(folder, 0, null, "data folder not found (expected a KuaiRand folder or 'synthetic')");
        var logs = Directory.GetFiles(folder, KuaiRandColumns.LogPattern).Order(StringComparer.Ordinal).ToArray();
        if (logs.Length == 0)
            throw new DataFormatException(Path.Combine(folder, KuaiRandColumns.LogPattern), 0, null, "no log file matches this pattern");
        var oracle = Path.Combine(folder, OracleFileName);
        return new KuaiRandSources(folder, logs,
            One(folder, KuaiRandColumns.UserPattern, required: true)!,
            One(folder, KuaiRandColumns.VideoBasicPattern, required: true)!,
            One(folder, KuaiRandColumns.VideoStatisticPattern, required: false),
            File.Exists(oracle) ? oracle : null);
    }

    private static string? One(string folder, string pattern, bool required)
    {
        var files = Directory.GetFiles(folder, pattern).Order(StringComparer.Ordinal).ToArray();
        if (files.Length > 1)
            throw new DataFormatException(Path.Combine(folder, pattern), 0, null,
                $"{files.Length} files match ({string.Join(", ", files.Select(Path.GetFileName))}); keep one");
        if (files.Length == 0 && required)
            throw new DataFormatException(Path.Combine(folder, pattern), 0, null, "no file matches this pattern");
        return files.FirstOrDefault();
    }
}
