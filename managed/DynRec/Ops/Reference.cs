using DynRec.Interop;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace DynRec.Ops;

/// <summary>
/// Pure-TorchSharp reference implementations of the native ops (the spec on
/// the managed side; DESIGN.md "Ops"). Weights use torch.nn.Linear's [out, in]
/// layout; sg = stop-gradient.
/// </summary>
public static class Reference
{
    /// <summary>delta = gamma * sigmoid(relu(x w1^T + b1) w2^T + b2).</summary>
    public static Tensor GateNu(Tensor x, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2, float gamma) =>
        gamma * sigmoid(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2));

    /// <summary>The activations of the C ABI (leaky_relu slope 0.01, as torch's default).</summary>
    public static Tensor Activate(Tensor x, Activation activation) => activation switch
    {
        Activation.None => x,
        Activation.Relu => F.relu(x),
        Activation.Sigmoid => sigmoid(x),
        Activation.Tanh => tanh(x),
        Activation.LeakyRelu => F.leaky_relu(x, 0.01),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "unknown activation"),
    };

    /// <summary>
    /// PPNet layer. Output position: y = delta ⊙ act(x W^T + b), delta [B, out];
    /// input position: y = act((delta ⊙ x) W^T + b), delta [B, in].
    /// </summary>
    public static Tensor GatedLinear(Tensor x, Tensor w, Tensor? b, Tensor delta, Activation activation,
        GatePosition position) => position == GatePosition.Output
        ? delta * Activate(F.linear(x, w, b), activation)
        : Activate(F.linear(delta * x, w, b), activation);

    /// <summary>
    /// T PPNet towers of one layer at once. x is [B, in] (the same input for
    /// every tower) or [T, B, in]; w [T, out, in]; b [T, out] or null; delta is
    /// one gate output split across towers: [B, T*out] (output position, tower
    /// t takes columns t*out..(t+1)*out-1) or [B, T*in] (input position).
    /// Returns [T, B, out].
    /// </summary>
    public static Tensor GatedLinearTowers(Tensor x, Tensor w, Tensor? b, Tensor delta, Activation activation,
        GatePosition position)
    {
        long towers = w.shape[0], nOut = w.shape[1], nIn = w.shape[2];
        var x3 = x.dim() == 2 ? x.unsqueeze(0).expand(towers, x.shape[0], nIn) : x;
        long batch = x3.shape[1];
        var wt = w.transpose(1, 2);
        if (position == GatePosition.Output)
        {
            var gate = delta.view(batch, towers, nOut).permute(1, 0, 2);
            var pre = b is null ? bmm(x3, wt) : bmm(x3, wt) + b.unsqueeze(1);
            // The product takes the permuted gate's [B, T, H] memory order; return the
            // native op's contiguous [T, B, H] layout, so a dropout that follows draws
            // its mask in the same element order on both paths.
            return (gate * Activate(pre, activation)).contiguous();
        }
        var gateIn = delta.view(batch, towers, nIn).permute(1, 0, 2);
        var gated = gateIn * x3;
        var preIn = b is null ? bmm(gated, wt) : bmm(gated, wt) + b.unsqueeze(1);
        return Activate(preIn, activation);
    }

    /// <summary>EPNet: O = delta ⊙ E with delta = gate_nu(concat(domain, sg(E))).</summary>
    public static Tensor EpNet(Tensor domain, Tensor emb, Tensor w1, Tensor? b1, Tensor w2, Tensor? b2, float gamma) =>
        GateNu(cat(new[] { domain, emb.detach() }, 1), w1, b1, w2, b2, gamma) * emb;

    /// <summary>
    /// hyper_linear, per row i: S_i = reshape(z_i G^T + g, [n_in, n_out]) (S_i[a][b]
    /// is entry a*n_out + b), c_i = z_i Gb^T + gb, y_i = act(x_i S_i + c_i).
    /// x [N, n_in], z [N, n_cond], G [n_in*n_out, n_cond], Gb [n_out, n_cond].
    /// This reference materializes S; the native kernel does not.
    /// </summary>
    public static Tensor HyperLinear(Tensor x, Tensor z, Tensor g, Tensor? gBias, Tensor gb, Tensor? gbBias,
        Activation activation)
    {
        long n = x.shape[0], nIn = x.shape[1], nOut = gb.shape[0], groups = z.shape[0];
        var rows = RowsPerCondition(x, z);
        var s = F.linear(z, g, gBias).view(groups, nIn, nOut);  // one S per condition row
        var c = F.linear(z, gb, gbBias).unsqueeze(1);
        return Activate((bmm(x.view(groups, rows, nIn), s) + c).view(n, nOut), activation);
    }

    /// <summary>
    /// hyper_linear's rows per condition: x [N, n_in] with z [N / R, n_cond], consecutive
    /// groups of R rows sharing a condition row (R = 1: one each).
    /// </summary>
    public static long RowsPerCondition(Tensor x, Tensor z)
    {
        long n = x.shape[0], groups = z.shape[0];
        if (groups <= 0 || n % groups != 0)
            throw new ArgumentException($"hyper_linear: x has {n} rows, which is not a multiple of z's {groups} condition rows");
        return n / groups;
    }

    /// <summary>
    /// FunRec's APGLayer chain. The inner activation follows every step but the
    /// last; the output activation follows the last. uv_shared with mf_p:
    /// NP -> PK -> KK -> KP -> PM; uv_shared without: NK -> KK -> KM; not shared:
    /// NK, KK, KM all generated (hyper_linear) from the condition z.
    /// </summary>
    public static Tensor ApgLayer(Tensor x, Tensor z, ApgLayerWeights w, ApgLayerSpec spec)
    {
        var inner = spec.InnerActivation;
        Tensor Dense(Tensor h, DenseWeights? d, string name) =>
            F.linear(h, (d ?? throw Missing(name)).Weight, d.Bias);
        Tensor Gen(Tensor h, GeneratedWeights? g, string name, Activation act) =>
            HyperLinear(h, z, (g ?? throw Missing(name)).G, g.GBias, g.Gb, g.GbBias, act);

        Tensor output;
        switch (spec.Mode)
        {
            case ApgMode.UvSharedMfP:
            {
                var h = Activate(Dense(x, w.Np, "np"), inner);
                h = Activate(Dense(h, w.Pk, "pk"), inner);
                h = Gen(h, w.Kk, "kk", inner);
                h = Activate(Dense(h, w.Kp, "kp"), inner);
                output = Dense(h, w.Pm, "pm");
                break;
            }
            case ApgMode.UvShared:
            {
                var h = Activate(Dense(x, w.Nk, "nk"), inner);
                h = Gen(h, w.Kk, "kk", inner);
                output = Dense(h, w.Km, "km");
                break;
            }
            case ApgMode.Specific:
            {
                var h = Gen(x, w.NkGen, "nk (generated)", inner);
                h = Gen(h, w.Kk, "kk", inner);
                output = Gen(h, w.KmGen, "km (generated)", Activation.None);
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(spec), spec.Mode, "unknown apg mode");
        }
        return Activate(output, spec.OutputActivation);
    }

    private static ArgumentException Missing(string step) =>
        new($"apg_layer: the weights of step '{step}' are required in this mode", nameof(ApgLayerWeights));
}
