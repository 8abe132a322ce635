namespace DynRec.Config;

/// <summary>The model registry names, each with a shipped configs/&lt;name&gt;.yaml.</summary>
public static class ModelNames
{
    public static readonly IReadOnlyList<string> All = ["pepnet", "apg", "m2m", "dnn", "shared_bottom", "mmoe"];

    public static string Validate(string name) => All.Contains(name)
        ? name
        : throw new ConfigException($"unknown model '{name}'; valid models: {string.Join(", ", All)}");
}
