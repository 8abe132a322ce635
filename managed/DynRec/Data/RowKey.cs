namespace DynRec.Data;

/// <summary>
/// A row's identity in the source log, in the log's own values (not the
/// encoded ids): user_id, video_id, time_ms, date (yyyymmdd) and the raw
/// scenario value (KuaiRand's tab). (user_id, video_id, time_ms) identifies an
/// impression in KuaiRand, so predictions written with these keys join back
/// to the user's own copy of the log.
/// </summary>
public readonly record struct RowKey(long UserId, long VideoId, long TimeMs, int Date, long Scenario);

/// <summary>
/// The raw values behind a data split's dense indices, shared by its train and
/// test rows: the user_id of each user entity, the video_id of each item
/// entity, and the raw scenario value (tab) of each scenario index.
/// </summary>
public sealed class EntityKeys
{
    public EntityKeys(long[] userIds, long[] videoIds, long[] scenarioValues, KeyColumns? columns = null)
    {
        UserIds = userIds;
        VideoIds = videoIds;
        ScenarioValues = scenarioValues;
        Columns = columns ?? KeyColumns.KuaiRand;
    }

    public long[] UserIds { get; }
    public long[] VideoIds { get; }
    public long[] ScenarioValues { get; }

    /// <summary>What the parts of a <see cref="RowKey"/> are called in the source data.</summary>
    public KeyColumns Columns { get; }
}

/// <summary>
/// The source data's names for the parts of a <see cref="RowKey"/>, so that files written per row
/// (predictions) name their key columns as the data does: KuaiRand's user_id, video_id, time_ms,
/// date, tab; a table folder's own user, item, date and scenario columns, with the row's position
/// in its files as "source_row". <see cref="Item"/> is null when the data has no item column.
/// </summary>
public sealed record KeyColumns(string User, string? Item, string Time, string Date, string Scenario)
{
    public static readonly KeyColumns KuaiRand = new("user_id", "video_id", "time_ms", "date", "tab");
}
