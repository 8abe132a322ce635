using DynRec.Interop;

namespace DynRec.Layers;

/// <summary>Parses activation names as configs write them (relu, leaky_relu, ...).</summary>
public static class Activations
{
    public static Activation Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "none" or "linear" or "identity" => Activation.None,
        "relu" => Activation.Relu,
        "sigmoid" => Activation.Sigmoid,
        "tanh" => Activation.Tanh,
        "leaky_relu" or "leakyrelu" => Activation.LeakyRelu,
        _ => throw new ArgumentException(
            $"unknown activation '{name}' (valid: none, relu, sigmoid, tanh, leaky_relu)", nameof(name)),
    };

    public static string Name(Activation activation) => activation switch
    {
        Activation.None => "none",
        Activation.Relu => "relu",
        Activation.Sigmoid => "sigmoid",
        Activation.Tanh => "tanh",
        Activation.LeakyRelu => "leaky_relu",
        _ => activation.ToString(),
    };
}
