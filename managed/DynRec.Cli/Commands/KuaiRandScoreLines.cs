using System.Text.Json;
using System.Text.Json.Serialization;
using DynRec.Serving;

namespace DynRec.Cli.Commands;

/// <summary>
/// `score` requests of a KuaiRand model: {"user_id", "tab", "hourmin", "is_rand"?, "recent_clicks"?,
/// "video_ids", "id"?} -> {"id"?, "scores": [{"video_id", task: probability, ...}, ...]}.
/// </summary>
internal sealed class KuaiRandScoreLines(Scorer scorer) : IScoreLines
{
    public object Parse(string text, out JsonElement? id)
    {
        var request = JsonSerializer.Deserialize<RequestLine>(text, ScoreJson.Options) ?? throw new JsonException("the line is null, not a request object");
        id = request.Id;
        var r = request.ToRequest();
        if (Scorer.Problem(r) is { } problem) throw new ArgumentException($"the request {problem}");
        return r;
    }

    public IReadOnlyList<Action<Utf8JsonWriter>> Score(IReadOnlyList<object> requests)
    {
        var typed = requests.Cast<ScoreRequest>().ToList();
        var scores = scorer.Score(typed);
        return typed.Select((request, k) => (Action<Utf8JsonWriter>)(w =>
        {
            var p = scores[k];
            w.WriteStartArray("scores");
            for (var c = 0; c < request.VideoIds.Count; c++)
            {
                w.WriteStartObject();
                w.WriteNumber("video_id", request.VideoIds[c]);
                for (var t = 0; t < scorer.Tasks.Count; t++) w.WriteNumber(scorer.Tasks[t], p[t][c]);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        })).ToList();
    }

    public void Dispose() => scorer.Dispose();

    private sealed class RequestLine
    {
        [JsonRequired] public long UserId { get; init; }
        [JsonRequired] public int Tab { get; init; }
        [JsonRequired] public int Hourmin { get; init; }
        public int IsRand { get; init; }
        public long[] RecentClicks { get; init; } = [];
        [JsonRequired] public long[] VideoIds { get; init; } = [];
        /// <summary>Any JSON value; echoed on the result line.</summary>
        public JsonElement? Id { get; init; }

        public ScoreRequest ToRequest() => new()
        {
            UserId = UserId, Tab = Tab, HourMin = Hourmin, IsRand = IsRand, RecentClicks = RecentClicks, VideoIds = VideoIds,
        };
    }
}
