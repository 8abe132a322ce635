using System.Globalization;

namespace DynRec.Data;

/// <summary>
/// A row's identity in the source log, in the log's own values (not the
/// encoded ids): user_id, video_id, time_ms, date (yyyymmdd) and the raw
/// scenario value (KuaiRand's tab). (user_id, video_id, time_ms) identifies an
/// impression in KuaiRand, so predictions written with these keys join back
/// to the user's own copy of the log.
/// </summary>
public readonly record struct RowKey(RawId UserId, RawId VideoId, long TimeMs, int Date, RawId Scenario);

/// <summary>
/// An id as the source data wrote it: an integer (KuaiRand's ids, a table column whose every value is an
/// integer) or text (a table column with any non-integer value, e.g. "u_81f3" or "home").
/// </summary>
public readonly record struct RawId
{
    private RawId(long number, string? text)
    {
        Number = number;
        Text = text;
    }

    /// <summary>The integer id; 0 for a text id.</summary>
    public long Number { get; }

    /// <summary>The text id as written (trimmed); null for an integer id.</summary>
    public string? Text { get; }

    public static RawId Of(long number) => new(number, null);
    public static RawId Of(string text) => new(0, text ?? throw new ArgumentNullException(nameof(text)));
    public static implicit operator RawId(long number) => Of(number);

    /// <summary>The id as written to files: the text, or the integer in invariant decimal.</summary>
    public override string ToString() => Text ?? Number.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The raw ids of a data split's entities, by dense index: all integers or all text.</summary>
public sealed class RawIds
{
    public static readonly RawIds None = new(Array.Empty<long>());

    public RawIds(long[] numbers) => Numbers = numbers;
    public RawIds(string[] texts) => Texts = texts;

    /// <summary>Integer ids (null when the ids are text).</summary>
    public long[]? Numbers { get; }
    /// <summary>Text ids (null when the ids are integers).</summary>
    public string[]? Texts { get; }

    public int Length => Numbers?.Length ?? Texts!.Length;
    public RawId this[int index] => Numbers != null ? RawId.Of(Numbers[index]) : RawId.Of(Texts![index]);

    public static implicit operator RawIds(long[] numbers) => new(numbers);
}

/// <summary>
/// The raw values behind a data split's dense indices, shared by its train and
/// test rows: the user_id of each user entity, the video_id of each item
/// entity, and the raw scenario value (tab) of each scenario index.
/// </summary>
public sealed class EntityKeys
{
    public EntityKeys(RawIds userIds, RawIds videoIds, RawIds scenarioValues, KeyColumns? columns = null)
    {
        UserIds = userIds;
        VideoIds = videoIds;
        ScenarioValues = scenarioValues;
        Columns = columns ?? KeyColumns.KuaiRand;
    }

    public RawIds UserIds { get; }
    public RawIds VideoIds { get; }
    public RawIds ScenarioValues { get; }

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
