using System.Text.Json;
using DynRec.Serving;

namespace DynRec.Cli.Commands;

/// <summary>
/// `score` requests of a model trained on a table folder: {"id"?, "context"?: {column: cell, ...},
/// "candidates": [{column: cell, ...}, ...], "history"?: [item, ...]} (history: the user's items of the
/// model's history task, most recent first, for a model trained with one) -> {"id"?, "scores": [{task: probability, ...}, ...]} in
/// candidate order. A cell is a JSON string or number (read as the CSV text it would be) or null (missing).
/// </summary>
internal sealed class TableScoreLines(TableScorer scorer) : IScoreLines
{
    public object Parse(string text, out JsonElement? id)
    {
        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new ArgumentException($"the line is a JSON {Kind(root)}, not a request object");
        id = root.TryGetProperty("id", out var value) ? value.Clone() : null;
        IReadOnlyDictionary<string, string?> context = new Dictionary<string, string?>();
        IReadOnlyDictionary<string, string?>[]? candidates = null;
        IReadOnlyList<string?> history = [];
        foreach (var member in root.EnumerateObject())
            switch (member.Name)
            {
                case "id": break;
                case "context": context = Cells(member.Value, "context"); break;
                case "candidates":
                    if (member.Value.ValueKind != JsonValueKind.Array) throw new ArgumentException($"candidates is a JSON {Kind(member.Value)}, not an array");
                    candidates = member.Value.EnumerateArray().Select((c, i) => Cells(c, $"candidate {i}")).ToArray();
                    break;
                case "history":
                    if (member.Value.ValueKind != JsonValueKind.Array) throw new ArgumentException($"history is a JSON {Kind(member.Value)}, not an array of items");
                    history = member.Value.EnumerateArray().Select((e, i) => Cell(e, $"history[{i}]")).ToArray();
                    break;
                default: throw new ArgumentException($"unknown key '{member.Name}'; a request has id, context, candidates and history");
            }
        var request = new TableRequest { Context = context, Candidates = candidates ?? throw new ArgumentException("no candidates"), History = history };
        if (scorer.Problem(request) is { } problem) throw new ArgumentException(problem);
        return request;
    }

    /// <summary>A JSON object of cells as CSV text: a string as is, a number as written ("10.5", "7"), null missing.</summary>
    private static IReadOnlyDictionary<string, string?> Cells(JsonElement cells, string where)
    {
        if (cells.ValueKind != JsonValueKind.Object) throw new ArgumentException($"{where} is a JSON {Kind(cells)}, not an object of cells");
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var p in cells.EnumerateObject()) result[p.Name] = Cell(p.Value, $"{where}: '{p.Name}'");
        return result;
    }

    private static string? Cell(JsonElement value, string what) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.Null => null,
        _ => throw new ArgumentException($"{what} is a JSON {Kind(value)}; a cell is a string, a number or null"),
    };

    private static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();

    public IReadOnlyList<Action<Utf8JsonWriter>> Score(IReadOnlyList<object> requests)
    {
        var typed = requests.Cast<TableRequest>().ToList();
        var scores = scorer.Score(typed);
        return typed.Select((request, k) => (Action<Utf8JsonWriter>)(w =>
        {
            var p = scores[k];
            w.WriteStartArray("scores");
            for (var c = 0; c < request.Candidates.Count; c++)
            {
                w.WriteStartObject();
                for (var t = 0; t < scorer.Tasks.Count; t++) w.WriteNumber(scorer.Tasks[t], p[t][c]);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        })).ToList();
    }

    public void Dispose() => scorer.Dispose();
}
