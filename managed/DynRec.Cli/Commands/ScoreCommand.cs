using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using DynRec.Data;
using DynRec.Serving;

namespace DynRec.Cli.Commands;

/// <summary>
/// `dynrec score`: online scoring over JSON lines. Each input line is one
/// request, {"user_id", "tab", "hourmin", "is_rand"?, "recent_clicks"?,
/// "video_ids", "id"?}, and gets one output line, written and flushed before
/// the next is read (so another program can drive it through a pipe):
/// {"id"?, "scores": [{"video_id", task: probability, ...}, ...]}, or
/// {"id"?, "line", "error"} for a request that cannot be scored; the others
/// are still scored, and the exit code is then 1.
/// </summary>
public static class ScoreCommand
{
    public sealed record Arguments(string Checkpoint, string Features, string Requests, string Out, string Device, string Kernels, string? Model);

    public static Command Create(TrainingServices services)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder, or a run folder (uses its best checkpoint)", Required = true };
        var features = new Option<string>("--features") { Description = "KuaiRand folder with the side tables (user_features, video_features_*), or synthetic", DefaultValueFactory = _ => "synthetic" };
        var requests = new Option<string>("--requests") { Description = "JSON-lines file of requests; - = standard input", DefaultValueFactory = _ => "-" };
        var output = new Option<string>("--out") { Description = "JSON-lines file of scores; - = standard output", DefaultValueFactory = _ => "-" };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var kernels = new Option<string>("--kernels") { Description = "native or reference", DefaultValueFactory = _ => "native" };
        var model = new Option<string?>("--model") { Description = "Expected model (checked against the checkpoint)" };
        var cmd = new Command("score", "Score requests (a user, a context, candidate videos) read as JSON lines, one result line per request")
            { checkpoint, features, requests, output, device, kernels, model };
        cmd.SetAction(pr => Run(new Arguments(pr.GetValue(checkpoint)!, pr.GetValue(features)!, pr.GetValue(requests)!, pr.GetValue(output)!,
            pr.GetValue(device)!, pr.GetValue(kernels)!, pr.GetValue(model)), services));
        return cmd;
    }

    public static int Run(Arguments a, TrainingServices services) => Run(a, services, Console.In, Console.Out);

    /// <param name="stdin">read when --requests is -.</param>
    /// <param name="stdout">written when --out is -.</param>
    public static int Run(Arguments a, TrainingServices services, TextReader stdin, TextWriter stdout)
    {
        var device = TrainingOptionParsing.ParseDevice(a.Device);
        var kernels = TrainingOptionParsing.ParseKernels(a.Kernels);
        TrainingServices.CheckCheckpoint(a.Checkpoint, a.Model);
        if (a.Requests != "-" && !File.Exists(a.Requests)) throw new UserException($"--requests: file not found: {a.Requests}");
        if (a.Features != DataSource.SyntheticName && !Directory.Exists(a.Features))
            throw new UserException($"--features: folder not found: {a.Features}; pass synthetic or a KuaiRand folder");
        var folder = a.Features == DataSource.SyntheticName ? DataSource.EnsureSynthetic(new LoadOptions()) : a.Features;
        using var scorer = Scorer.Open(a.Checkpoint, folder, device, kernels, services.BuildModel);

        using var input = a.Requests == "-" ? null : new StreamReader(a.Requests);
        using var file = a.Out == "-" ? null : new StreamWriter(a.Out);
        var reader = input ?? stdin;
        var writer = file ?? stdout;
        long line = 0, failed = 0, scored = 0;
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            var result = ScoreLine(scorer, text, line);
            if (result.Error) failed++; else scored++;
            writer.WriteLine(result.Json);
            writer.Flush();
        }
        if (failed > 0)
        {
            Console.Error.WriteLine($"dynrec: {failed} of {failed + scored} request(s) could not be scored (see their \"error\" lines)");
            return 1;
        }
        return 0;
    }

    /// <summary>One request line -> its result line (never throws for a bad request).</summary>
    private static (string Json, bool Error) ScoreLine(Scorer scorer, string text, long line)
    {
        JsonElement? id = null;
        try
        {
            var request = JsonSerializer.Deserialize<RequestLine>(text, Json) ?? throw new JsonException("the line is null, not a request object");
            id = request.Id;
            var p = scorer.Score(request.ToRequest());
            return (Write(w =>
            {
                WriteId(w, id);
                w.WriteStartArray("scores");
                for (var c = 0; c < request.VideoIds.Length; c++)
                {
                    w.WriteStartObject();
                    w.WriteNumber("video_id", request.VideoIds[c]);
                    for (var t = 0; t < scorer.Tasks.Count; t++) w.WriteNumber(scorer.Tasks[t], p[t][c]);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }), false);
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            return (Write(w =>
            {
                WriteId(w, id);
                w.WriteNumber("line", line);
                w.WriteString("error", e.Message);
            }), true);
        }
    }

    private static void WriteId(Utf8JsonWriter w, JsonElement? id)
    {
        if (id is not { } value) return;
        w.WritePropertyName("id");
        value.WriteTo(w);
    }

    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
    };

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
