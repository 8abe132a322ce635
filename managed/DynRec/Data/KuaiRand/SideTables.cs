namespace DynRec.Data.KuaiRand;

/// <summary>
/// The side tables of a KuaiRand folder as the features read them: users (the
/// user categoricals; is_live_streamer's -124 read as 0; one-hot missing cells
/// as FunRec's max + 1, or the fitted fill), videos (the video categoricals, tag
/// = first tag, video_duration, author_id) and, when the folder has it and
/// video statistics (the asked-for columns). Shared by the preprocessor and the
/// request scorer, so both read a table the same way.
/// </summary>
internal sealed record SideTables(FeatureTable Users, FeatureTable Videos, FeatureTable? Statistics, string[] StatisticColumns)
{
    /// <param name="statisticColumns">statistic columns to read (ignored when the folder has no statistic file).</param>
    /// <param name="encoding">a fitted encoding whose one-hot fills replace the tables' own (null: learn them).</param>
    public static SideTables Read(KuaiRandSources sources, IReadOnlyList<string> statisticColumns, FeatureEncoding? encoding)
    {
        var users = FeatureTable.Read(sources.UserFeatures, "user_id", KuaiRandColumns.User,
            KuaiRandColumns.UserCategoricals.Select(c => (c, c switch
            {
                "is_live_streamer" => FeatureTable.CategoricalKind.LiveStreamer,
                _ when c.StartsWith("onehot_feat", StringComparison.Ordinal) => FeatureTable.CategoricalKind.OneHot,
                _ => FeatureTable.CategoricalKind.Plain,
            })).ToArray(), Array.Empty<string>(), Array.Empty<string>(), unescape: true, encoding?.MissingFill);
        var videos = FeatureTable.Read(sources.VideoBasic, "video_id", KuaiRandColumns.VideoBasic,
            KuaiRandColumns.VideoCategoricals.Select(c => (c, c == "tag" ? FeatureTable.CategoricalKind.FirstTag : FeatureTable.CategoricalKind.Plain)).ToArray(),
            new[] { "video_duration" }, new[] { "author_id" }, unescape: true);
        var statColumns = sources.HasVideoStatistic ? statisticColumns.ToArray() : Array.Empty<string>();
        var stats = !sources.HasVideoStatistic ? null : FeatureTable.Read(sources.VideoStatistic, "video_id",
            new[] { "video_id" }, Array.Empty<(string, FeatureTable.CategoricalKind)>(), statColumns, Array.Empty<string>(), unescape: true);
        return new SideTables(users, videos, stats, statColumns);
    }
}
