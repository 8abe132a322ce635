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
    public EntityKeys(long[] userIds, long[] videoIds, long[] scenarioValues)
    {
        UserIds = userIds;
        VideoIds = videoIds;
        ScenarioValues = scenarioValues;
    }

    public long[] UserIds { get; }
    public long[] VideoIds { get; }
    public long[] ScenarioValues { get; }
}
