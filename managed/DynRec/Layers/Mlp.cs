using DynRec.Interop;
using DynRec.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Layers;

/// <summary>
/// Dense layers, each followed by the activation and dropout (FunRec's
/// FeedForwardLayer). Parameters: layers.{i}.weight [out, in], layers.{i}.bias.
/// </summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<Linear> layers;

    public Mlp(long inFeatures, IReadOnlyList<int> units, Activation activation, double dropout,
        bool activateLast = true) : base(nameof(Mlp))
    {
        if (units.Count == 0) throw new ArgumentException("an MLP needs at least one layer", nameof(units));
        layers = new ModuleList<Linear>();
        var width = inFeatures;
        foreach (var u in units)
        {
            if (u <= 0) throw new ArgumentOutOfRangeException(nameof(units), $"layer sizes must be > 0, got {u}");
            layers.Add(nn.Linear(width, u));
            width = u;
        }
        Activation = activation;
        Dropout = dropout;
        ActivateLast = activateLast;
        OutFeatures = width;
        RegisterComponents();
    }

    public Activation Activation { get; }
    public double Dropout { get; }
    public bool ActivateLast { get; }
    public long OutFeatures { get; }

    public override Tensor forward(Tensor x)
    {
        for (var i = 0; i < layers.Count; i++)
        {
            x = layers[i].forward(x);
            if (i < layers.Count - 1 || ActivateLast)
            {
                x = Reference.Activate(x, Activation);
                if (Dropout > 0) x = Functional.Dropout(x, Dropout, training);
            }
        }
        return x;
    }
}
