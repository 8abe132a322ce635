using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using DynRec.Layers;

namespace DynRec.Models;

/// <summary>
/// Maps config keys (snake_case: emb_dim, dnn_units, gate_position, ...) onto
/// an options record and back. Values may be typed (int, double, bool, int[])
/// or the strings and lists a YAML parser yields ("128", ["128", "64"], "leaky_relu").
/// </summary>
public static class OptionBinder
{
    /// <summary>The config keys of an options type, in declaration order.</summary>
    public static IReadOnlyList<string> Keys(Type optionsType) => Settable(optionsType).Select(p => SnakeCase(p.Name)).ToList();

    /// <summary>A copy of <paramref name="defaults"/> with the given keys overridden.</summary>
    public static T Bind<T>(T defaults, IEnumerable<KeyValuePair<string, object?>>? values) where T : ModelOptions
    {
        var type = defaults.GetType();
        var clone = (T)type.GetMethod("<Clone>$")!.Invoke(defaults, null)!;
        if (values is null) return clone;
        var properties = Settable(type).ToDictionary(p => SnakeCase(p.Name));
        foreach (var (key, raw) in values)
        {
            if (!properties.TryGetValue(key, out var property))
                throw new ArgumentException(
                    $"unknown option '{key}' for {Name(type)} (valid: {string.Join(", ", properties.Keys)})", key);
            object value;
            try
            {
                value = Convert(raw, property.PropertyType);
            }
            catch (Exception e) when (e is FormatException or InvalidCastException or OverflowException or ArgumentException)
            {
                throw new ArgumentException(
                    $"option '{key}' of {Name(type)}: cannot use '{Show(raw)}' as {TypeName(property.PropertyType)} ({e.Message})", key, e);
            }
            property.SetValue(clone, value);
        }
        return clone;
    }

    /// <summary>The options as config values (snake_case keys; enums as their config names; lists as int[]).</summary>
    public static IReadOnlyDictionary<string, object> ToDictionary(ModelOptions options)
    {
        var result = new Dictionary<string, object>();
        foreach (var p in Settable(options.GetType()))
        {
            var v = p.GetValue(options)!;
            result[SnakeCase(p.Name)] = v switch
            {
                Interop.Activation a => Activations.Name(a),
                Enum e => SnakeCase(e.ToString()),
                _ => v,
            };
        }
        return result;
    }

    public static string SnakeCase(string name)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            // A new word starts at an upper-case letter after a lower-case letter or digit
            // (EmbDim -> emb_dim, MfK -> mf_k, M2M stays m2m).
            if (char.IsUpper(c) && i > 0 && char.IsLower(name[i - 1])) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    private static IEnumerable<PropertyInfo> Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite && p.SetMethod!.IsPublic && p.Name != "EqualityContract")
            .OrderBy(p => p.DeclaringType == typeof(ModelOptions) ? 0 : 1)
            .ThenBy(p => p.MetadataToken);

    private static object Convert(object? raw, Type target)
    {
        if (raw is null) throw new FormatException("no value");
        var inv = CultureInfo.InvariantCulture;
        if (target == typeof(int)) return raw is string s ? int.Parse(s.Trim(), inv) : System.Convert.ToInt32(raw, inv);
        if (target == typeof(double)) return raw is string d ? double.Parse(d.Trim(), inv) : System.Convert.ToDouble(raw, inv);
        if (target == typeof(float)) return raw is string f ? float.Parse(f.Trim(), inv) : System.Convert.ToSingle(raw, inv);
        if (target == typeof(bool)) return raw is string b ? bool.Parse(b.Trim()) : (bool)raw;
        if (target == typeof(Interop.Activation)) return raw is Interop.Activation a ? a : Activations.Parse(raw.ToString()!);
        if (target.IsEnum)
        {
            if (raw.GetType() == target) return raw;
            var text = raw.ToString()!.Trim();
            foreach (var name in Enum.GetNames(target))
                if (SnakeCase(name) == text.ToLowerInvariant() || name.Equals(text, StringComparison.OrdinalIgnoreCase))
                    return Enum.Parse(target, name);
            throw new FormatException($"valid: {string.Join(", ", Enum.GetNames(target).Select(SnakeCase))}");
        }
        if (target == typeof(int[]))
        {
            IEnumerable items = raw switch
            {
                int[] ints => ints,
                string s => s.Trim().TrimStart('[').TrimEnd(']').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                IEnumerable e => e,
                _ => throw new InvalidCastException("expected a list"),
            };
            var list = items.Cast<object?>().Select(o => (int)Convert(o, typeof(int))).ToArray();
            if (list.Length == 0) throw new FormatException("the list is empty");
            return list;
        }
        throw new InvalidCastException($"unsupported option type {target.Name}");
    }

    private static string Name(Type t) => t.Name.Replace("Options", "");

    private static string TypeName(Type t) => t == typeof(int[]) ? "a list of integers" : t.IsEnum ? "one of " + string.Join("|",
        t == typeof(Interop.Activation) ? new[] { "none", "relu", "sigmoid", "tanh", "leaky_relu" } : Enum.GetNames(t).Select(SnakeCase)) : t.Name.ToLowerInvariant();

    private static string Show(object? raw) => raw switch
    {
        null => "null",
        string s => s,
        IEnumerable e => "[" + string.Join(", ", e.Cast<object?>()) + "]",
        _ => raw.ToString() ?? "",
    };
}
