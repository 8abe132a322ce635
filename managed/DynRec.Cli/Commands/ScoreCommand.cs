using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using DynRec.Data;
using DynRec.Serving;
using DynRec.Training;

namespace DynRec.Cli.Commands;

/// <summary>
/// `dynrec score`: online scoring over JSON lines. Each input line is one
/// request, {"user_id", "tab", "hourmin", "is_rand"?, "recent_clicks"?,
/// "video_ids", "id"?}, and gets one output line, written and flushed before
/// the next is read (so another program can drive it through a pipe):
/// {"id"?, "scores": [{"video_id", task: probability, ...}, ...]}, or
/// {"id"?, "line", "error"} for a request that cannot be scored; the others
/// are still scored, and the exit code is then 1. From a file (--requests F)
/// the lines are scored --batch-requests at a time, in one forward pass each
/// (answers still in input order); from standard input one at a time.
/// </summary>
public static class ScoreCommand
{
    public sealed record Arguments(string Checkpoint, string Features, string Requests, string Out, string Device, string Kernels, string? Model,
        int BatchRequests = 64, int Threads = 0);

    public static Command Create(TrainingServices services)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder, or a run folder (uses its best checkpoint)", Required = true };
        var features = new Option<string>("--features") { Description = "KuaiRand folder with the side tables (user_features, video_features_*), or synthetic", DefaultValueFactory = _ => "synthetic" };
        var requests = new Option<string>("--requests") { Description = "JSON-lines file of requests; - = standard input", DefaultValueFactory = _ => "-" };
        var output = new Option<string>("--out") { Description = "JSON-lines file of scores; - = standard output", DefaultValueFactory = _ => "-" };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var kernels = new Option<string>("--kernels") { Description = "native or reference", DefaultValueFactory = _ => "native" };
        var model = new Option<string?>("--model") { Description = "Expected model (checked against the checkpoint)" };
        var batch = new Option<int>("--batch-requests") { Description = "Requests per forward pass when reading a file (standard input: one at a time)", DefaultValueFactory = _ => 64 };
        var threads = CliThreads.Create();
        var cmd = new Command("score", "Score requests (a user, a context, candidate videos) read as JSON lines, one result line per request")
            { checkpoint, features, requests, output, device, kernels, model, batch, threads };
        cmd.SetAction(pr => Run(new Arguments(pr.GetValue(checkpoint)!, pr.GetValue(features)!, pr.GetValue(requests)!, pr.GetValue(output)!,
            pr.GetValue(device)!, pr.GetValue(kernels)!, pr.GetValue(model), pr.GetValue(batch), pr.GetValue(threads)), services));
        return cmd;
    }

    public static int Run(Arguments a, TrainingServices services) => Run(a, services, Console.In, Console.Out);

    /// <param name="stdin">read when --requests is -.</param>
    /// <param name="stdout">written when --out is -.</param>
    public static int Run(Arguments a, TrainingServices services, TextReader stdin, TextWriter stdout)
    {
        if (a.BatchRequests < 1) throw new UserException($"--batch-requests must be >= 1, got {a.BatchRequests}");
        var device = TrainingOptionParsing.ParseDevice(a.Device);
        var kernels = TrainingOptionParsing.ParseKernels(a.Kernels);
        TrainingServices.CheckCheckpoint(a.Checkpoint, a.Model);
        CliThreads.Apply(a.Threads);
        if (a.Requests != "-" && !File.Exists(a.Requests)) throw new UserException($"--requests: file not found: {a.Requests}");
        if (a.Features != DataSource.SyntheticName && !Directory.Exists(a.Features))
            throw new UserException($"--features: folder not found: {a.Features}; pass synthetic or a KuaiRand folder");
        var folder = a.Features == DataSource.SyntheticName ? DataSource.EnsureSynthetic(new LoadOptions()) : a.Features;
        using var scorer = Scorer.Open(a.Checkpoint, folder, device, kernels, services.BuildModel);

        using var input = a.Requests == "-" ? null : new StreamReader(a.Requests);
        var reader = input ?? stdin;
        var perPass = input is null ? 1 : a.BatchRequests;  // standard input may be a co-process waiting for each answer
        if (a.Out == "-") return Answer(scorer, reader, stdout, perPass);
        // A file appears whole or not at all (written beside it, renamed when done).
        var code = 0;
        AtomicFile.Write(a.Out, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            code = Answer(scorer, reader, writer, perPass);
        });
        return code;
    }

    /// <summary>Answers every request line of <paramref name="reader"/>, <paramref name="perPass"/> lines per forward pass.</summary>
    private static int Answer(Scorer scorer, TextReader reader, TextWriter writer, int perPass)
    {
        long line = 0, failed = 0, scored = 0;
        var pending = new List<(long Line, string Text)>();
        void Flush()
        {
            foreach (var result in ScoreLines(scorer, pending))
            {
                if (result.Error) failed++; else scored++;
                writer.WriteLine(result.Json);
            }
            writer.Flush();
            pending.Clear();
        }
        while (reader.ReadLine() is { } text)
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            pending.Add((line, text));
            if (pending.Count >= perPass) Flush();
        }
        Flush();
        if (failed > 0)
        {
            Console.Error.WriteLine($"dynrec: {failed} of {failed + scored} request(s) could not be scored (see their \"error\" lines)");
            return 1;
        }
        return 0;
    }

    /// <summary>
    /// Request lines -> their result lines, in order (never throws for a bad request): the lines that parse into
    /// valid requests are scored together in one <see cref="Scorer.Score(IReadOnlyList{ScoreRequest})"/> call.
    /// </summary>
    private static List<(string Json, bool Error)> ScoreLines(Scorer scorer, List<(long Line, string Text)> lines)
    {
        var results = new (string Json, bool Error)[lines.Count];
        var parsed = new List<(int Index, RequestLine Request)>();
        for (var i = 0; i < lines.Count; i++)
        {
            JsonElement? id = null;
            try
            {
                var request = JsonSerializer.Deserialize<RequestLine>(lines[i].Text, Json) ?? throw new JsonException("the line is null, not a request object");
                id = request.Id;
                if (Scorer.Problem(request.ToRequest()) is { } problem) throw new ArgumentException($"the request {problem}");
                parsed.Add((i, request));
            }
            catch (Exception e) when (e is JsonException or ArgumentException)
            {
                results[i] = (ErrorLine(id, lines[i].Line, e.Message), true);
            }
        }
        var scores = scorer.Score(parsed.Select(p => p.Request.ToRequest()).ToList());
        for (var k = 0; k < parsed.Count; k++)
        {
            var (index, request) = parsed[k];
            var p = scores[k];
            results[index] = (Write(w =>
            {
                WriteId(w, request.Id);
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
        return results.ToList();
    }

    private static string ErrorLine(JsonElement? id, long line, string message) => Write(w =>
    {
        WriteId(w, id);
        w.WriteNumber("line", line);
        w.WriteString("error", message);
    });

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
