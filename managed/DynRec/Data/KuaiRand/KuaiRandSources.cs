namespace DynRec.Data.KuaiRand;

/// <summary>
/// The files of a KuaiRand folder, found by the release's name patterns. Every
/// pattern may match several files, read in sorted name order as one table:
/// KuaiRand-27K ships its logs in two parts per period and
/// video_features_statistic in three (<c>..._27k_part1.csv</c> ...).
/// </summary>
public sealed record KuaiRandSources(
    string Folder,
    IReadOnlyList<string> Logs,
    IReadOnlyList<string> UserFeatures,
    IReadOnlyList<string> VideoBasic,
    IReadOnlyList<string> VideoStatistic,
    string? Oracle)
{
    /// <summary>Side file of synthetic data: the true probabilities of every test row.</summary>
    public const string OracleFileName = "oracle_test.csv";

    public bool HasVideoStatistic => VideoStatistic.Count > 0;

    /// <summary>Every file that feeds the preprocessed data (the cache key covers them all).</summary>
    public IEnumerable<string> All =>
        Logs.Concat(UserFeatures).Concat(VideoBasic).Concat(VideoStatistic)
            .Concat(Oracle is null ? Array.Empty<string>() : new[] { Oracle });

    /// <param name="requireLogs">false when only the side tables are read (scoring requests needs no log).</param>
    public static KuaiRandSources Find(string folder, bool requireLogs = true)
    {
        if (!Directory.Exists(folder))
            throw new DataFormatException(folder, 0, null, "data folder not found (expected a KuaiRand folder or 'synthetic')");
        var oracle = Path.Combine(folder, OracleFileName);
        return new KuaiRandSources(folder,
            Parts(folder, KuaiRandColumns.LogPattern, required: requireLogs),
            Parts(folder, KuaiRandColumns.UserPattern, required: true),
            Parts(folder, KuaiRandColumns.VideoBasicPattern, required: true),
            Parts(folder, KuaiRandColumns.VideoStatisticPattern, required: false),
            File.Exists(oracle) ? oracle : null);
    }

    private static string[] Parts(string folder, string pattern, bool required)
    {
        var files = Directory.GetFiles(folder, pattern).Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0 && required)
            throw new DataFormatException(Path.Combine(folder, pattern), 0, null, "no file matches this pattern");
        return files;
    }
}
