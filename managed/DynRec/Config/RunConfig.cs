using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

namespace DynRec.Config;

/// <summary>
/// A run's effective configuration: the model's shipped defaults
/// (configs/&lt;model&gt;.yaml), overlaid by a user YAML file, then by
/// `--set section.key=value` overrides. Every key must exist in the shipped
/// defaults; every value must have the default's type (and, for choice keys,
/// be one of the choices). <see cref="ToYaml"/> writes what was used.
/// </summary>
public sealed class RunConfig
{
    private RunConfig(string modelName, ModelSection model, TrainOptions train)
    {
        ModelName = modelName;
        Model = model;
        Train = train;
    }

    public string ModelName { get; }
    public ModelSection Model { get; }
    public TrainOptions Train { get; }

    /// <summary>Where the shipped configs live: configs/ next to the running assemblies.</summary>
    public static string DefaultConfigsDirectory => Path.Combine(AppContext.BaseDirectory, "configs");

    /// <summary>
    /// Builds the effective config. <paramref name="modelName"/> (from --model) or the user file's model.name picks
    /// the defaults; <paramref name="overrides"/> are "section.key=value" strings applied in order.
    /// </summary>
    public static RunConfig Load(string? modelName, string? userConfigPath, IEnumerable<string> overrides, string? configsDirectory = null)
    {
        if (userConfigPath != null && !File.Exists(userConfigPath)) throw new FileNotFoundException($"config file not found: {userConfigPath}");
        var text = userConfigPath == null ? null : File.ReadAllText(userConfigPath);
        return LoadText(modelName, text, userConfigPath ?? "", overrides, configsDirectory);
    }

    /// <summary>As <see cref="Load"/> with the user config given as YAML text (<paramref name="source"/> names it in errors).</summary>
    public static RunConfig LoadText(string? modelName, string? userYaml, string source, IEnumerable<string> overrides, string? configsDirectory = null)
    {
        configsDirectory ??= DefaultConfigsDirectory;
        var user = userYaml == null ? null : ParseRoot(userYaml, source);
        var userModelName = user != null && user.Children.TryGetValue(new YamlScalarNode("model"), out var um)
                            && um is YamlMappingNode umm && umm.Children.TryGetValue(new YamlScalarNode("name"), out var un)
            ? ConfigValue.Scalar("model.name", un)
            : null;
        var name = modelName ?? userModelName
                   ?? throw new ConfigException($"no model given: pass --model ({string.Join(", ", ModelNames.All)}) or set model.name in the config file");
        ModelNames.Validate(name);
        if (userModelName != null && userModelName != name)
            throw new ConfigException($"model.name: the config file is for '{userModelName}' but --model is '{name}'");

        var defaultsPath = Path.Combine(configsDirectory, name + ".yaml");
        if (!File.Exists(defaultsPath)) throw new FileNotFoundException($"shipped defaults for model '{name}' not found: {defaultsPath}");
        var defaults = ParseRoot(File.ReadAllText(defaultsPath), defaultsPath);
        var effective = (YamlMappingNode)DeepCopy(defaults);
        if (user != null) Merge(effective, defaults, user, "");
        foreach (var o in overrides) ApplyOverride(effective, defaults, o);
        return Bind(name, defaults, effective);
    }

    /// <summary>Applies one "section.key=value" override (value in YAML syntax: 0.002, true, [64, 32]).</summary>
    private static void ApplyOverride(YamlMappingNode effective, YamlMappingNode defaults, string assignment)
    {
        var eq = assignment.IndexOf('=');
        if (eq <= 0) throw new ConfigException($"--set '{assignment}': expected section.key=value, e.g. train.lr=0.002 or model.dropout=0.2");
        var path = assignment[..eq].Trim().Split('.');
        var valueText = assignment[(eq + 1)..];
        YamlNode value;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(valueText));
            value = stream.Documents.Count == 0 ? new YamlScalarNode("") : stream.Documents[0].RootNode;
        }
        catch (YamlException e)
        {
            throw new ConfigException($"--set {assignment[..eq]}: cannot parse value '{valueText}': {e.Message}");
        }
        catch (InvalidOperationException e)  // YamlDotNet's scanner throws this on some malformed input
        {
            throw new ConfigException($"--set {assignment[..eq]}: cannot parse value '{valueText}': invalid YAML ({e.Message})");
        }
        var wrapped = value;
        for (var i = path.Length - 1; i >= 0; i--)
            wrapped = new YamlMappingNode(new KeyValuePair<YamlNode, YamlNode>(new YamlScalarNode(path[i]), wrapped));
        Merge(effective, defaults, (YamlMappingNode)wrapped, "");
    }

    /// <summary>Overlays <paramref name="overlay"/> onto <paramref name="target"/>, rejecting keys absent from the defaults.</summary>
    private static void Merge(YamlMappingNode target, YamlMappingNode? defaults, YamlMappingNode overlay, string prefix)
    {
        foreach (var (keyNode, value) in overlay.Children)
        {
            var key = ConfigValue.Scalar(prefix + "<key>", keyNode);
            var full = prefix + key;
            var isFreeMap = full == "train.task_weights";
            YamlNode? defaultValue = null;
            if (defaults != null && !defaults.Children.TryGetValue(keyNode, out defaultValue))
                throw new ConfigException($"{full}: unknown key{ConfigValue.At(keyNode)}; valid keys{(prefix.Length > 0 ? " in " + prefix.TrimEnd('.') : "")}: {string.Join(", ", defaults.Children.Keys.Select(k => ((YamlScalarNode)k).Value))}");
            if (defaultValue is YamlMappingNode defaultMap && !isFreeMap)
            {
                if (value is not YamlMappingNode valueMap)
                    throw new ConfigException($"{full}: expected a mapping of {string.Join(", ", defaultMap.Children.Keys.Select(k => ((YamlScalarNode)k).Value))}, got a {ConfigValue.Describe(value)}{ConfigValue.At(value)}");
                Merge((YamlMappingNode)target.Children[keyNode], defaultMap, valueMap, full + ".");
            }
            else if (isFreeMap && value is YamlMappingNode freeMap)
            {
                var targetMap = (YamlMappingNode)target.Children[keyNode];
                foreach (var (k, v) in freeMap.Children) targetMap.Children[k] = v;
            }
            else
            {
                target.Children[keyNode] = value;
            }
        }
    }

    private static RunConfig Bind(string name, YamlMappingNode defaults, YamlMappingNode effective)
    {
        var modelDefaults = Section(defaults, "model");
        var modelNode = Section(effective, "model");
        var model = new OrderedDictionary<string, object>();
        foreach (var (k, defaultValue) in modelDefaults.Children)
        {
            var key = ((YamlScalarNode)k).Value!;
            if (key == "name") continue;
            model[key] = ConfigValue.Convert("model." + key, modelNode.Children[k], ConfigValue.InferKind(defaultValue));
        }
        var t = Section(effective, "train");
        var es = Section(t, "early_stopping");
        YamlNode N(YamlMappingNode m, string key) => m.Children[new YamlScalarNode(key)];
        var weights = new OrderedDictionary<string, double>();
        if (N(t, "task_weights") is not YamlMappingNode tw)
            throw new ConfigException($"train.task_weights: expected a mapping task -> weight, e.g. {{is_click: 1.0, long_view: 0.5}}{ConfigValue.At(N(t, "task_weights"))}");
        foreach (var (k, v) in tw.Children)
        {
            var task = ConfigValue.Scalar("train.task_weights", k);
            weights[task] = AtLeast($"train.task_weights.{task}", v, ConfigValue.ToDouble($"train.task_weights.{task}", v), 0);
        }
        var train = new TrainOptions
        {
            Epochs = (int)AtLeast("train.epochs", N(t, "epochs"), ConfigValue.ToInt("train.epochs", N(t, "epochs")), 1),
            BatchSize = (int)AtLeast("train.batch_size", N(t, "batch_size"), ConfigValue.ToInt("train.batch_size", N(t, "batch_size")), 1),
            EvalBatchSize = (int)AtLeast("train.eval_batch_size", N(t, "eval_batch_size"), ConfigValue.ToInt("train.eval_batch_size", N(t, "eval_batch_size")), 1),
            Lr = Positive("train.lr", N(t, "lr"), ConfigValue.ToDouble("train.lr", N(t, "lr"))),
            WeightDecay = AtLeast("train.weight_decay", N(t, "weight_decay"), ConfigValue.ToDouble("train.weight_decay", N(t, "weight_decay")), 0),
            Optimizer = ConfigValue.ToChoice("train.optimizer", N(t, "optimizer")),
            MaxGradNorm = AtLeast("train.max_grad_norm", N(t, "max_grad_norm"), ConfigValue.ToDouble("train.max_grad_norm", N(t, "max_grad_norm")), 0),
            TaskWeights = weights,
            EarlyStoppingMetric = ConfigValue.Scalar("train.early_stopping.metric", N(es, "metric")),
            Patience = (int)AtLeast("train.early_stopping.patience", N(es, "patience"), ConfigValue.ToInt("train.early_stopping.patience", N(es, "patience")), 0),
            Seed = ConfigValue.ToLong("train.seed", N(t, "seed")),
            EvalEvery = (int)AtLeast("train.eval_every", N(t, "eval_every"), ConfigValue.ToInt("train.eval_every", N(t, "eval_every")), 1),
            ValidationDays = (int)AtLeast("train.validation_days", N(t, "validation_days"),
                ConfigValue.ToInt("train.validation_days", N(t, "validation_days")), 0),
            Shuffle = ConfigValue.ToBool("train.shuffle", N(t, "shuffle")),
            LogEverySeconds = Positive("train.log_every_seconds", N(t, "log_every_seconds"), ConfigValue.ToDouble("train.log_every_seconds", N(t, "log_every_seconds"))),
            CheckpointEverySteps = (long)AtLeast("train.checkpoint_every_steps", N(t, "checkpoint_every_steps"),
                ConfigValue.ToLong("train.checkpoint_every_steps", N(t, "checkpoint_every_steps")), 0),
        };
        return new RunConfig(name, new ModelSection(name, model), train);
    }

    private static double AtLeast(string key, YamlNode node, double value, double min) =>
        value >= min ? value : throw ConfigValue.Bad(key, node, value.ToString(CultureInfo.InvariantCulture), $"a value >= {min.ToString(CultureInfo.InvariantCulture)}");

    private static double Positive(string key, YamlNode node, double value) =>
        value > 0 ? value : throw ConfigValue.Bad(key, node, value.ToString(CultureInfo.InvariantCulture), "a value > 0");

    private static YamlMappingNode Section(YamlMappingNode parent, string key) =>
        parent.Children.TryGetValue(new YamlScalarNode(key), out var node) && node is YamlMappingNode m
            ? m
            : throw new InvalidDataException($"shipped config lacks the '{key}' section");

    private static YamlMappingNode ParseRoot(string text, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new ConfigException($"{source} line {e.Start.Line}, column {e.Start.Column}: invalid YAML: {e.Message}");
        }
        catch (InvalidOperationException e)  // YamlDotNet's scanner throws this on some malformed input
        {
            throw new ConfigException($"{source}: invalid YAML ({e.Message})");
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new ConfigException($"{source}: expected a mapping with 'model' and/or 'train' sections");
        foreach (var node in stream.Documents[0].AllNodes) ConfigValue.SourceNames.AddOrUpdate(node, Path.GetFileName(source));
        return root;
    }

    private static YamlNode DeepCopy(YamlNode node) => node switch
    {
        YamlMappingNode m => new YamlMappingNode(m.Children.Select(kv => new KeyValuePair<YamlNode, YamlNode>(kv.Key, DeepCopy(kv.Value)))),
        YamlSequenceNode q => new YamlSequenceNode(q.Children.Select(DeepCopy)),
        _ => node,
    };

    /// <summary>The effective configuration as YAML (the same shape as the shipped files; loadable with --config).</summary>
    public string ToYaml()
    {
        var model = new OrderedDictionary<string, object> { ["name"] = ModelName };
        foreach (var k in Model.Keys) model[k] = Model.Get<object>(k);
        var t = Train;
        var doc = new OrderedDictionary<string, object>
        {
            ["model"] = model,
            ["train"] = new OrderedDictionary<string, object>
            {
                ["epochs"] = t.Epochs,
                ["batch_size"] = t.BatchSize,
                ["eval_batch_size"] = t.EvalBatchSize,
                ["lr"] = t.Lr,
                ["weight_decay"] = t.WeightDecay,
                ["optimizer"] = t.Optimizer,
                ["max_grad_norm"] = t.MaxGradNorm,
                ["task_weights"] = t.TaskWeights.ToDictionary(kv => kv.Key, kv => kv.Value),
                ["early_stopping"] = new OrderedDictionary<string, object> { ["metric"] = t.EarlyStoppingMetric, ["patience"] = t.Patience },
                ["seed"] = t.Seed,
                ["eval_every"] = t.EvalEvery,
                ["validation_days"] = t.ValidationDays,
                ["shuffle"] = t.Shuffle,
                ["log_every_seconds"] = t.LogEverySeconds,
                ["checkpoint_every_steps"] = t.CheckpointEverySteps,
            },
        };
        return new SerializerBuilder().Build().Serialize(doc);
    }

    /// <summary>Reads a config saved by <see cref="ToYaml"/> (e.g. a checkpoint's), validated against the shipped defaults.</summary>
    public static RunConfig FromYaml(string yaml, string source, string? configsDirectory = null) =>
        LoadText(null, yaml, source, [], configsDirectory);
}
