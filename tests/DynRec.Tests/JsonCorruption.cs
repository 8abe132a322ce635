using System.Text.Json.Nodes;

namespace DynRec.Tests;

/// <summary>
/// One seeded corruption of a JSON document, for the fuzz tests of files users
/// hand us (checkpoint sidecars, feature encodings): a character replaced by
/// JSON syntax, or a value anywhere in the tree nulled, retyped or removed.
/// </summary>
internal static class JsonCorruption
{
    public static (string Json, string What) Corrupt(string json, Random rng)
    {
        if (rng.Next(4) == 0)
        {
            var at = rng.Next(json.Length);
            var bytes = new[] { "", "\"", "{", "]", ",", "null", "-1", "1e400" }[rng.Next(8)];
            return (json.Remove(at, 1).Insert(at, bytes), $"char {at} replaced by '{bytes}'");
        }
        var root = JsonNode.Parse(json)!;
        var nodes = new List<(JsonNode Parent, string? Key, int Index)>();
        void Walk(JsonNode node)
        {
            if (node is JsonObject o)
                foreach (var (k, v) in o) { nodes.Add((o, k, -1)); if (v is not null) Walk(v); }
            else if (node is JsonArray a)
                for (var i = 0; i < a.Count; i++) { nodes.Add((a, null, i)); if (a[i] is { } v) Walk(v); }
        }
        Walk(root);
        var (parent, key, index) = nodes[rng.Next(nodes.Count)];
        JsonNode? replacement = rng.Next(5) switch
        {
            0 => null,
            1 => JsonValue.Create("x"),
            2 => JsonValue.Create(-1),
            3 => new JsonArray(),
            _ => new JsonObject(),
        };
        var what = $"{key ?? index.ToString()} set to {replacement?.ToJsonString() ?? "null"}";
        if (parent is JsonObject obj)
        {
            if (rng.Next(4) == 0) { obj.Remove(key!); what = $"{key} removed"; }
            else obj[key!] = replacement;
        }
        else ((JsonArray)parent)[index] = replacement;
        return (root.ToJsonString(), what);
    }
}
