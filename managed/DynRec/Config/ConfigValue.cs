using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace DynRec.Config;

/// <summary>
/// Converts YAML nodes to typed values with errors that name the key, the
/// offending text and what was expected. A model key's type is inferred from
/// its shipped default (8 -&gt; integer, 0.1 -&gt; number, true -&gt; boolean,
/// [128, 64] -&gt; list of integers, anything else -&gt; string).
/// </summary>
internal static class ConfigValue
{
    /// <summary>String keys whose values come from a fixed set, wherever they appear.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> Choices = new Dictionary<string, string[]>
    {
        // The activations DynRec.Interop.Activation offers (the native kernels' epilogues).
        ["activation"] = ["none", "relu", "sigmoid", "tanh", "leaky_relu"],
        ["inner_activation"] = ["none", "relu", "sigmoid", "tanh", "leaky_relu"],
        ["gate_position"] = ["output", "input"],
        ["condition"] = ["group", "mix", "self"],
        ["optimizer"] = ["adam", "fused_adam", "fused_adamw"],
        ["embedding_optimizer"] = ["dense", "sparse_sgd", "rowwise_adagrad", "lazy_adam"],
    };

    public enum Kind { Integer, Number, Boolean, String, IntegerList, NumberList, StringList }

    public static Kind InferKind(YamlNode defaultNode) => defaultNode switch
    {
        YamlScalarNode s => ScalarKind(s.Value ?? ""),
        YamlSequenceNode q => q.Children.Count == 0 ? Kind.IntegerList : ScalarKind(Scalar(q.Children[0])) switch
        {
            Kind.Integer => Kind.IntegerList,
            Kind.Number => Kind.NumberList,
            _ => Kind.StringList,
        },
        _ => Kind.String,
    };

    private static Kind ScalarKind(string text) =>
        text is "true" or "false" ? Kind.Boolean
        : long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? Kind.Integer
        : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? Kind.Number
        : Kind.String;

    public static object Convert(string key, YamlNode node, Kind kind) => kind switch
    {
        Kind.Integer => ToInt(key, node),
        Kind.Number => ToDouble(key, node),
        Kind.Boolean => ToBool(key, node),
        Kind.String => ToChoice(key, node),
        Kind.IntegerList => Sequence(key, node, "a list of integers like [128, 64]").Select(n => ToInt(key, n)).ToArray(),
        Kind.NumberList => Sequence(key, node, "a list of numbers like [0.5, 1.0]").Select(n => ToDouble(key, n)).ToArray(),
        Kind.StringList => Sequence(key, node, "a list of strings").Select(n => Scalar(key, n)).ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static int ToInt(string key, YamlNode node)
    {
        var text = Scalar(key, node);
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw Bad(key, node, text, "an integer");
    }

    public static long ToLong(string key, YamlNode node)
    {
        var text = Scalar(key, node);
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw Bad(key, node, text, "an integer");
    }

    public static double ToDouble(string key, YamlNode node)
    {
        var text = Scalar(key, node);
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v
            : throw Bad(key, node, text, "a number");
    }

    public static bool ToBool(string key, YamlNode node)
    {
        var text = Scalar(key, node);
        return text switch
        {
            "true" or "True" or "TRUE" => true,
            "false" or "False" or "FALSE" => false,
            _ => throw Bad(key, node, text, "true or false"),
        };
    }

    public static string ToChoice(string key, YamlNode node)
    {
        var text = Scalar(key, node);
        var leaf = key[(key.LastIndexOf('.') + 1)..];
        if (Choices.TryGetValue(leaf, out var valid) && !valid.Contains(text))
            throw Bad(key, node, text, $"one of {string.Join(", ", valid)}");
        return text;
    }

    public static string Scalar(string key, YamlNode node) => node is YamlScalarNode s
        ? s.Value ?? ""
        : throw new ConfigException($"{key}: expected a single value, got a {Describe(node)}{At(node)}");

    private static string Scalar(YamlNode node) => node is YamlScalarNode s ? s.Value ?? "" : "";

    private static IEnumerable<YamlNode> Sequence(string key, YamlNode node, string expected) => node is YamlSequenceNode q
        ? q.Children
        : throw new ConfigException($"{key}: expected {expected}, got '{Text(node)}'{At(node)}");

    public static ConfigException Bad(string key, YamlNode node, string text, string expected) =>
        new($"{key}: expected {expected}, got '{text}'{At(node)}");

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "mapping",
        YamlSequenceNode => "list",
        _ => "value",
    };

    private static string Text(YamlNode node) => node is YamlScalarNode s ? s.Value ?? "" : Describe(node);

    /// <summary>" (file.yaml line 3, column 7)" for nodes read from a file; nothing for command-line values.</summary>
    public static string At(YamlNode node) =>
        SourceNames.TryGetValue(node, out var source) ? $" ({source} line {node.Start.Line}, column {node.Start.Column})" : "";

    /// <summary>Nodes parsed from a file remember its name, so errors can point into it.</summary>
    public static readonly System.Runtime.CompilerServices.ConditionalWeakTable<YamlNode, string> SourceNames = new();
}
