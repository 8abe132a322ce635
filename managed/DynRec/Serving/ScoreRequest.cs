namespace DynRec.Serving;

/// <summary>
/// One scoring request: a user in a context (KuaiRand's log values: the tab,
/// hourmin as HHMM, is_rand 0/1), the user's recent clicks (raw video ids, most
/// recent first; the model reads the first L, its sequence length) and the
/// candidate videos to score for them. Every id is the raw id of the log and
/// side tables, not an encoded one.
/// </summary>
public sealed record ScoreRequest
{
    public required long UserId { get; init; }
    public required int Tab { get; init; }
    public required int HourMin { get; init; }
    public int IsRand { get; init; }
    public IReadOnlyList<long> RecentClicks { get; init; } = [];
    public required IReadOnlyList<long> VideoIds { get; init; }
}
