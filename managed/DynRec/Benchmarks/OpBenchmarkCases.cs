using DynRec.Interop;
using DynRec.Ops;
using static TorchSharp.torch;

namespace DynRec.Benchmarks;

/// <summary>
/// The layer sizes the op benchmark runs at. <see cref="FunRec"/> is the issue's
/// setting: batch 2048; PEPNet with E = 672 (the synthetic schema's field
/// embeddings, 84 x 8), persona 3 x 8 = 24, scenario embedding 8, towers
/// 672 -> 128 -> 64 for 3 tasks; APG n = m = 256, mf_k = mf_p = 4 (k = p = 64),
/// condition = the scenario embedding, 16 wide.
/// </summary>
public sealed record OpBenchmarkSizes(int Batch, int PepNetWidth, int PersonaWidth, int DomainWidth, int Unit1, int Unit2,
    int Towers, int ApgWidth, int MfK, int MfP, int Condition)
{
    public static OpBenchmarkSizes FunRec { get; } = new(2048, 672, 24, 8, 128, 64, 3, 256, 4, 4, 16);

    /// <summary>Small enough for a unit test.</summary>
    public static OpBenchmarkSizes Tiny { get; } = new(8, 24, 6, 4, 8, 4, 3, 12, 4, 4, 3);
}

/// <summary>
/// One benchmarked op: leaf inputs (all requiring grad) and the forward that
/// composes them through <see cref="Functional"/> with the given kernels.
/// ForwardFlops counts 2 x multiply-adds of the forward's matrix products.
/// </summary>
public sealed record OpCase(string Op, string Shape, double ForwardFlops, Tensor[] Inputs, Func<Kernels, Tensor> Forward);

/// <summary>Builds the op benchmark's cases with seeded random inputs, scaled so activations stay O(1).</summary>
public static class OpBenchmarkCases
{
    public static List<OpCase> Create(OpBenchmarkSizes s)
    {
        long b = s.Batch, e = s.PepNetWidth, t = s.Towers, u1 = s.Unit1, u2 = s.Unit2, c = s.Condition;
        var cases = new List<OpCase>();

        // PPNet gates: GateNU(persona + E -> T*units -> T*units), one per tower layer.
        foreach (var units in new[] { u1, u2 })
        {
            long inW = s.PersonaWidth + e, h = t * units;
            var x = Leaf(b, inW);
            Tensor w1 = Weight(h, inW), b1 = Bias(h), w2 = Weight(h, h), b2 = Bias(h);
            cases.Add(new OpCase("gate_nu", $"PPNet gate {inW}->{h}->{h}", 2.0 * b * (inW * h + h * h),
                [x, w1, b1, w2, b2], k => Functional.GateNu(x, w1, b1, w2, b2, 2f, k)));
        }

        // PPNet towers: both layers of the T-tower stack, gate on the output (FunRec).
        {
            var x = Leaf(b, e);
            Tensor w1 = Weight(t, u1, e), b1 = Bias(t, u1), d1 = Gate(b, t * u1);
            Tensor w2 = Weight(t, u2, u1), b2 = Bias(t, u2), d2 = Gate(b, t * u2);
            cases.Add(new OpCase("gated_linear", $"{t} towers {e}->{u1}->{u2}", 2.0 * b * t * (e * u1 + u1 * u2),
                [x, w1, b1, d1, w2, b2, d2], k =>
                {
                    var h = Functional.GatedLinearTowers(x, w1, b1, d1, Activation.Relu, GatePosition.Output, k);
                    return Functional.GatedLinearTowers(h, w2, b2, d2, Activation.Relu, GatePosition.Output, k);
                }));
        }

        // EPNet: GateNU(domain + E -> E -> E) applied to E.
        {
            long inW = s.DomainWidth + e;
            Tensor domain = Leaf(b, s.DomainWidth), emb = Leaf(b, e);
            Tensor w1 = Weight(e, inW), b1 = Bias(e), w2 = Weight(e, e), b2 = Bias(e);
            cases.Add(new OpCase("epnet", $"domain {s.DomainWidth}, E {e}", 2.0 * b * (inW * e + e * e),
                [domain, emb, w1, b1, w2, b2], k => Functional.EpNet(domain, emb, w1, b1, w2, b2, 2f, k)));
        }

        // hyper_linear: APG's generated KK core (k x k) and the not-shared NK step (n x k).
        var kk = ApgLayerSpec.Create(ApgMode.UvShared, s.ApgWidth, s.ApgWidth, s.MfK, 0).K;
        foreach (var (nIn, nOut, label) in new[] { (kk, kk, "KK"), ((long)s.ApgWidth, kk, "NK") })
        {
            Tensor x = Leaf(b, nIn), z = Leaf(b, c);
            var g = Generated(nIn, nOut, c);
            cases.Add(new OpCase("hyper_linear", $"{label} {nIn}x{nOut}, cond {c}", 2.0 * b * (c * nIn * nOut + nIn * nOut + c * nOut),
                [x, z, g.G, g.GBias!, g.Gb, g.GbBias!], k => Functional.HyperLinear(x, z, g.G, g.GBias, g.Gb, g.GbBias, Activation.None, k)));
        }

        // hyper_linear with shared conditions: M2M's attention meta-unit step (every task x expert
        // row of a sample, 3 x 4 = 12, with the sample's 16-wide scenario view; 2 x view_dim 32 = 64 wide).
        {
            const long rows = 12, width = 64, cond = 16;
            Tensor x = Leaf(b * rows, width), z = Leaf(b, cond);
            var g = Generated(width, width, cond);
            cases.Add(new OpCase("hyper_linear", $"shared {width}x{width}, cond {cond}, {rows} rows each",
                2.0 * b * (cond * width * width + rows * width * width + cond * width),
                [x, z, g.G, g.GBias!, g.Gb, g.GbBias!], k => Functional.HyperLinear(x, z, g.G, g.GBias, g.Gb, g.GbBias, Activation.None, k)));
        }

        // apg_layer n = m = ApgWidth in all three FunRec modes.
        foreach (var mode in new[] { ApgMode.UvSharedMfP, ApgMode.UvShared, ApgMode.Specific })
            cases.Add(ApgCase(s, mode));
        cases.Add(EmbeddingsCase(s));
        return cases;
    }

    // The dense embedding backend: E / 8 fields of 8 (the synthetic schema's vocabularies: 2000 users, 1000 videos,
    // 250 authors, small categoricals) plus a 20-long click sequence over the video table. Native: one
    // dynrec_tbe_tables_* call each way; reference: one nn.Embedding per field and a cat.
    private static OpCase EmbeddingsCase(OpBenchmarkSizes s)
    {
        const int dim = 8, sequence = 20;
        var fields = Math.Max(3, s.PepNetWidth / dim);
        var vocab = Enumerable.Range(0, fields).Select(f => f switch { 0 => 2000, 1 => 1000, 2 => 250, _ => 12 + f % 20 }).ToArray();
        var schema = new Data.FeatureSchema(
            vocab.Select((v, f) => new Data.SparseField($"f{f}", v, f == 0 ? Data.FieldGroup.User : Data.FieldGroup.Item)).ToArray(),
            new Data.SequenceField("clicks", "f1", sequence), ["task"], "f2", 1);
        var embeddings = new Layers.FeatureEmbeddings(schema, dim);
        var ids = stack(vocab.Select(v => Ids(s.Batch, v)).ToArray(), 1);
        var clicks = Ids(s.Batch * sequence, vocab[1]).view(s.Batch, sequence);
        return new OpCase("embeddings", $"{fields} fields x {dim} + sequence {sequence}, dense tables", 0,
            embeddings.parameters().Select(p => (Tensor)p).ToArray(), kernels =>
            {
                embeddings.Kernels = kernels;
                var e = embeddings.Lookup(ids, clicks);
                return cat([e.AllFields, e.Sequence.flatten(1)], 1);
            });
    }

    // Ids of one field: uniform over the vocabulary, 0 (padding) included.
    private static Tensor Ids(long rows, int vocabulary) => randint(vocabulary, [rows], dtype: ScalarType.Int64);

    private static OpCase ApgCase(OpBenchmarkSizes s, ApgMode mode)
    {
        long b = s.Batch, n = s.ApgWidth, c = s.Condition;
        var spec = ApgLayerSpec.Create(mode, n, n, s.MfK, s.MfP);
        long k = spec.K, p = spec.P;
        Tensor x = Leaf(b, n), z = Leaf(b, c);
        var kkW = Generated(k, k, c);
        double Hyper(long i, long o) => 2.0 * b * (c * i * o + i * o + c * o);
        double Lin(long i, long o) => 2.0 * b * i * o;
        ApgLayerWeights weights;
        double flops;
        string shape;
        switch (mode)
        {
            case ApgMode.UvSharedMfP:
                weights = new ApgLayerWeights { Np = Dense(n, p), Pk = Dense(p, k), Kk = kkW, Kp = Dense(k, p), Pm = Dense(p, n) };
                flops = Lin(n, p) + Lin(p, k) + Hyper(k, k) + Lin(k, p) + Lin(p, n);
                shape = $"uv_shared+mf_p, n=m={n} k={k} p={p} cond {c}";
                break;
            case ApgMode.UvShared:
                weights = new ApgLayerWeights { Nk = Dense(n, k), Kk = kkW, Km = Dense(k, n) };
                flops = Lin(n, k) + Hyper(k, k) + Lin(k, n);
                shape = $"uv_shared, n=m={n} k={k} cond {c}";
                break;
            default:
                weights = new ApgLayerWeights { NkGen = Generated(n, k, c), Kk = kkW, KmGen = Generated(k, n, c) };
                flops = Hyper(n, k) + Hyper(k, k) + Hyper(k, n);
                shape = $"specific, n=m={n} k={k} cond {c}";
                break;
        }
        var inputs = new List<Tensor> { x, z };
        foreach (var d in new[] { weights.Np, weights.Pk, weights.Kp, weights.Pm, weights.Nk, weights.Km })
            if (d is not null) inputs.AddRange([d.Weight, d.Bias!]);
        foreach (var g in new[] { weights.NkGen, weights.Kk, weights.KmGen })
            if (g is not null) inputs.AddRange([g.G, g.GBias!, g.Gb, g.GbBias!]);
        return new OpCase("apg_layer", shape, flops, inputs.ToArray(), kernels => Functional.ApgLayer(x, z, weights, spec, kernels));
    }

    private static Tensor Leaf(params long[] shape) => randn(shape).requires_grad_();

    private static Tensor Weight(params long[] shape) => (randn(shape) / Math.Sqrt(shape[^1])).requires_grad_();

    private static Tensor Bias(params long[] shape) => (0.1 * randn(shape)).requires_grad_();

    // Gate outputs in (0, 2), as GateNU's gamma * sigmoid.
    private static Tensor Gate(params long[] shape) => (2 * rand(shape)).requires_grad_();

    private static DenseWeights Dense(long nIn, long nOut) => new(Weight(nOut, nIn), Bias(nOut));

    // S = reshape(z G^T + g) has entries of size 1/sqrt(n_in) when z ~ N(0, 1).
    private static GeneratedWeights Generated(long nIn, long nOut, long cond) => new(
        (randn(nIn * nOut, cond) / Math.Sqrt(cond * nIn)).requires_grad_(), Bias(nIn * nOut),
        Weight(nOut, cond), Bias(nOut));
}
