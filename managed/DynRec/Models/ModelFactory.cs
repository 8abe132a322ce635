using DynRec.Data;
using DynRec.Ops;

namespace DynRec.Models;

/// <summary>
/// The model registry: builds pepnet | apg | m2m | dnn | shared_bottom | mmoe
/// from a schema and options (a typed record or config key/values over the
/// FunRec defaults).
/// </summary>
public static class ModelFactory
{
    private static readonly Dictionary<string, (Func<ModelOptions> Defaults, Func<FeatureSchema, ModelOptions, Kernels, MultiTaskModel> Build)> Registry =
        new()
        {
            ["pepnet"] = (() => new PepNetOptions(), (s, o, k) => new PepNet(s, (PepNetOptions)o, k)),
            ["apg"] = (() => new ApgOptions(), (s, o, k) => new Apg(s, (ApgOptions)o, k)),
            ["m2m"] = (() => new M2MOptions(), (s, o, k) => new M2M(s, (M2MOptions)o, k)),
            ["dnn"] = (() => new DnnOptions(), (s, o, k) => new DnnModel(s, (DnnOptions)o, k)),
            ["shared_bottom"] = (() => new SharedBottomOptions(), (s, o, k) => new SharedBottom(s, (SharedBottomOptions)o, k)),
            ["mmoe"] = (() => new MmoeOptions(), (s, o, k) => new Mmoe(s, (MmoeOptions)o, k)),
        };

    /// <summary>The registered model names.</summary>
    public static IReadOnlyList<string> Names => Registry.Keys.ToList();

    /// <summary>The FunRec defaults of a model.</summary>
    public static ModelOptions DefaultOptions(string name) => Entry(name).Defaults();

    /// <summary>The model's defaults with the given config keys overridden; unknown keys throw naming the valid ones.</summary>
    public static ModelOptions Options(string name, IEnumerable<KeyValuePair<string, object?>>? values) =>
        OptionBinder.Bind(DefaultOptions(name), values);

    public static MultiTaskModel Create(string name, FeatureSchema schema, IEnumerable<KeyValuePair<string, object?>>? options = null,
        Kernels kernels = Kernels.Native) =>
        Create(name, schema, Options(name, options), kernels);

    public static MultiTaskModel Create(string name, FeatureSchema schema, ModelOptions options, Kernels kernels = Kernels.Native)
    {
        var entry = Entry(name);
        var expected = entry.Defaults().GetType();
        if (options.GetType() != expected)
            throw new ArgumentException($"model '{name}' takes {expected.Name}, got {options.GetType().Name}", nameof(options));
        return entry.Build(schema, options, kernels);
    }

    private static (Func<ModelOptions> Defaults, Func<FeatureSchema, ModelOptions, Kernels, MultiTaskModel> Build) Entry(string name)
    {
        var key = (name ?? throw new ArgumentNullException(nameof(name))).Trim().ToLowerInvariant().Replace('-', '_');
        return Registry.TryGetValue(key, out var entry)
            ? entry
            : throw new ArgumentException($"unknown model '{name}' (valid: {string.Join(", ", Registry.Keys)})", nameof(name));
    }
}
