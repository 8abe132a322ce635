using System.CommandLine;
using System.Text.Json;
using DynRec.Data;
using DynRec.Serving;
using DynRec.Training;

namespace DynRec.Cli.Commands;

/// <summary>
/// `dynrec score`: online scoring over JSON lines. Each input line is one request and gets one output line,
/// written and flushed before the next is read (so another program can drive it through a pipe):
/// {"id"?, "scores": [...]}, or {"id"?, "line", "error"} for a request that cannot be scored; the others
/// are still scored, and the exit code is then 1. The request format follows the checkpoint's data:
/// KuaiRand's (<see cref="KuaiRandScoreLines"/>, with the side tables of --features) or a table folder's
/// (<see cref="TableScoreLines"/>, cells by column name; with --features, a table folder's user and item
/// tables fill the cells a request leaves out). From a file (--requests F) the lines are scored
/// --batch-requests at a time, in one forward pass each (answers still in input order); from standard
/// input one at a time.
/// </summary>
public static class ScoreCommand
{
    public sealed record Arguments(string Checkpoint, string? Features, string Requests, string Out, string Device, string Kernels, string? Model,
        int BatchRequests = 64, int Threads = 0);

    public static Command Create(TrainingServices services)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Checkpoint folder, or a run folder (uses its best checkpoint)", Required = true };
        var features = new Option<string?>("--features") { Description = "KuaiRand models: the folder with the side tables (user_features, video_features_*), or synthetic (the default). Table models: a table folder whose user_table / item_table fill the features a request leaves out (optional)" };
        var requests = new Option<string>("--requests") { Description = "JSON-lines file of requests; - = standard input", DefaultValueFactory = _ => "-" };
        var output = new Option<string>("--out") { Description = "JSON-lines file of scores; - = standard output", DefaultValueFactory = _ => "-" };
        var device = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var kernels = new Option<string>("--kernels") { Description = "native or reference", DefaultValueFactory = _ => "native" };
        var model = new Option<string?>("--model") { Description = "Expected model (checked against the checkpoint)" };
        var batch = new Option<int>("--batch-requests") { Description = "Requests per forward pass when reading a file (standard input: one at a time)", DefaultValueFactory = _ => 64 };
        var threads = CliThreads.Create();
        var cmd = new Command("score", "Score requests (a context and its candidates) read as JSON lines, one result line per request")
            { checkpoint, features, requests, output, device, kernels, model, batch, threads };
        cmd.SetAction(pr => Run(new Arguments(pr.GetValue(checkpoint)!, pr.GetValue(features), pr.GetValue(requests)!, pr.GetValue(output)!,
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
        CliThreads.Apply(a.Threads);
        if (a.Requests != "-" && !File.Exists(a.Requests)) throw new UserException($"--requests: file not found: {a.Requests}");
        if (a.Features != null && a.Features != DataSource.SyntheticName && !Directory.Exists(a.Features))
            throw new UserException($"--features: folder not found: {a.Features}; pass synthetic, a KuaiRand folder or a table folder");
        using var lines = Open(a, services, device, kernels);

        using var input = a.Requests == "-" ? null : new StreamReader(a.Requests);
        var reader = input ?? stdin;
        var perPass = input is null ? 1 : a.BatchRequests;  // standard input may be a co-process waiting for each answer
        if (a.Out == "-") return Answer(lines, reader, stdout, perPass);
        // A file appears whole or not at all (written beside it, renamed when done).
        var code = 0;
        AtomicFile.Write(a.Out, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            code = Answer(lines, reader, writer, perPass);
        });
        return code;
    }

    /// <summary>The checkpoint's scorer, by the data it was trained on (its encoding says which).</summary>
    private static IScoreLines Open(Arguments a, TrainingServices services, TorchSharp.torch.Device device, Ops.Kernels kernels)
    {
        var trained = services.LoadTrained(a.Checkpoint, a.Model, device, kernels);
        if (trained.Encoding?.Format == DataFormat.Table)
        {
            if (a.Features == DataSource.SyntheticName)
            {
                trained.Dispose();
                throw new UserException($"--features: {a.Checkpoint} was trained on a table folder; pass a table folder with a user_table or item_table to look features up in, or nothing");
            }
            return new TableScoreLines(TableScorer.From(trained, device, a.Features));
        }
        var folder = a.Features is null or DataSource.SyntheticName ? DataSource.EnsureSynthetic(new LoadOptions()) : a.Features;
        return new KuaiRandScoreLines(Scorer.From(trained, folder, device));
    }

    /// <summary>Answers every request line of <paramref name="reader"/>, <paramref name="perPass"/> lines per forward pass.</summary>
    private static int Answer(IScoreLines scorer, TextReader reader, TextWriter writer, int perPass)
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
    /// valid requests are scored together in one pass.
    /// </summary>
    private static List<(string Json, bool Error)> ScoreLines(IScoreLines scorer, List<(long Line, string Text)> lines)
    {
        var results = new (string Json, bool Error)[lines.Count];
        var parsed = new List<(int Index, object Request, JsonElement? Id)>();
        for (var i = 0; i < lines.Count; i++)
        {
            try
            {
                var request = scorer.Parse(lines[i].Text, out var id);
                parsed.Add((i, request, id));
            }
            catch (Exception e) when (e is JsonException or ArgumentException)
            {
                results[i] = (ErrorLine(IdOf(lines[i].Text), lines[i].Line, e.Message), true);
            }
        }
        var bodies = scorer.Score(parsed.Select(p => p.Request).ToList());
        for (var k = 0; k < parsed.Count; k++)
        {
            var (index, _, id) = parsed[k];
            results[index] = (Write(w =>
            {
                WriteId(w, id);
                bodies[k](w);
            }), false);
        }
        return results.ToList();
    }

    /// <summary>The "id" of a line that could not be scored, when it is a JSON object that has one (echoed with the error).</summary>
    private static JsonElement? IdOf(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("id", out var id) ? id.Clone() : null;
        }
        catch (JsonException)
        {
            return null;
        }
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
        // Relaxed escaping: messages keep their quotes readable ('iid', not \u0027iid\u0027); the output is JSON lines, not HTML.
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}

/// <summary>One request format of `score`: a JSON line to a request, scored requests to their result lines.</summary>
internal interface IScoreLines : IDisposable
{
    /// <summary>The request of a line, checked, and its "id" (echoed on its result); a JsonException or ArgumentException says why it cannot be scored.</summary>
    object Parse(string text, out JsonElement? id);

    /// <summary>Scores the requests together; per request the writer of its result's fields after "id" ("scores").</summary>
    IReadOnlyList<Action<Utf8JsonWriter>> Score(IReadOnlyList<object> requests);
}

/// <summary>The JSON options the request formats share: snake_case names, unknown members rejected.</summary>
internal static class ScoreJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
    };
}
