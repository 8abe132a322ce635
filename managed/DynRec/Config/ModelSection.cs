using System.Collections;

namespace DynRec.Config;

/// <summary>
/// The config's `model` section: a free-form, typed key -&gt; value map handed
/// to the model factory (DynRec.Models.ModelFactory.Create takes it as its
/// key/value options). Values are int, double, bool, string, int[], double[] or
/// string[] (the type of each key comes from the model's shipped YAML).
/// </summary>
public sealed class ModelSection : IReadOnlyDictionary<string, object?>
{
    private readonly OrderedDictionary<string, object> _values;

    public ModelSection(string modelName, OrderedDictionary<string, object> values)
    {
        ModelName = modelName;
        _values = values;
    }

    public string ModelName { get; }

    public int Int(string key) => Get<int>(key);
    public double Double(string key) => Get<object>(key) switch { int i => i, double d => d, var o => throw WrongType(key, o, "number") };
    public bool Bool(string key) => Get<bool>(key);
    public string String(string key) => Get<string>(key);
    public int[] Ints(string key) => Get<int[]>(key);

    public T Get<T>(string key)
    {
        if (!_values.TryGetValue(key, out var value))
            throw new KeyNotFoundException($"model '{ModelName}' has no option '{key}'; options: {string.Join(", ", _values.Keys)}");
        return value is T t ? t : throw WrongType(key, value, typeof(T).Name);
    }

    private InvalidCastException WrongType(string key, object value, string wanted) =>
        new($"model option '{key}' is a {value.GetType().Name}, not a {wanted}");

    public object? this[string key] => Get<object>(key);
    public IEnumerable<string> Keys => _values.Keys;
    public IEnumerable<object?> Values => _values.Values;
    public int Count => _values.Count;
    public bool ContainsKey(string key) => _values.ContainsKey(key);
    public bool TryGetValue(string key, out object? value) => _values.TryGetValue(key, out value);
    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() =>
        _values.Select(kv => new KeyValuePair<string, object?>(kv.Key, kv.Value)).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
