using DynRec.Interop;
using DynRec.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DynRec.Optim;

/// <summary>
/// Adam over all dense parameters in one native multi-tensor call per step
/// (dynrec_adam_step: one OpenMP loop on the CPU, a few kernel launches on
/// CUDA), with the exact update of torch.optim.Adam (weight decay as L2 added
/// to the gradient); <see cref="FusedAdamW"/> decouples it like torch.optim.AdamW.
/// Moments live in TorchSharp tensors (<see cref="ExpAvg"/>, <see cref="ExpAvgSq"/>)
/// and per-parameter step counts, all saved and restored by
/// <see cref="StateDict"/> / <see cref="LoadStateDict"/>. Parameters whose grad is
/// null are skipped and their step does not advance (as in PyTorch). With
/// <see cref="MaxGradNorm"/> &gt; 0 the gradients are clipped by their global L2
/// norm first (torch.nn.utils.clip_grad_norm_ semantics, gradients themselves
/// left unchanged); <see cref="LastGradNorm"/> is the pre-clip norm.
/// Parameters must be float32 and contiguous, all on one device (CPU or CUDA).
/// </summary>
public class FusedAdam : IDisposable
{
    private readonly Parameter[] _params;
    private readonly long[] _steps;
    private Tensor? _workspace;
    private readonly Tensor _norm;
    private bool _normValid;

    public FusedAdam(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0.0, double maxGradNorm = 0.0)
        : this(parameters, lr, beta1, beta2, eps, weightDecay, maxGradNorm, decoupled: false) { }

    protected FusedAdam(IEnumerable<Parameter> parameters, double lr, double beta1, double beta2, double eps,
        double weightDecay, double maxGradNorm, bool decoupled)
    {
        _params = parameters.ToArray();
        if (_params.Length == 0) throw new ArgumentException("optimizer got an empty parameter list", nameof(parameters));
        for (var i = 0; i < _params.Length; i++)
        {
            TensorPointers.Check(_params[i], $"parameter {i}");
            if (i > 0) TensorPointers.CommonDevice(_params[0], _params[i]);
        }
        LearningRate = lr;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        MaxGradNorm = maxGradNorm;
        Decoupled = decoupled;
        _steps = new long[_params.Length];
        ExpAvg = _params.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        ExpAvgSq = _params.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
        _norm = zeros(1, device: _params[0].device).DetachFromDisposeScope();
    }

    public double LearningRate { get; set; }
    public double Beta1 { get; set; }
    public double Beta2 { get; set; }
    public double Eps { get; set; }
    public double WeightDecay { get; set; }
    /// <summary>Clip gradients by global L2 norm when &gt; 0.</summary>
    public double MaxGradNorm { get; set; }
    /// <summary>true: AdamW (p *= 1 - lr * wd); false: Adam (g += wd * p).</summary>
    public bool Decoupled { get; }

    public IReadOnlyList<Parameter> Parameters => _params;
    /// <summary>First moments, one per parameter (same shape and device).</summary>
    public IReadOnlyList<Tensor> ExpAvg { get; }
    /// <summary>Second moments, one per parameter.</summary>
    public IReadOnlyList<Tensor> ExpAvgSq { get; }
    /// <summary>Steps taken by parameter i.</summary>
    public long StepCount(int i) => _steps[i];

    /// <summary>Pre-clip global gradient norm of the last step (NaN before any clipped step; reading it syncs on CUDA).</summary>
    public float LastGradNorm => _normValid ? _norm.cpu().item<float>() : float.NaN;

    /// <summary>
    /// Drops the gradients (torch.optim's zero_grad(set_to_none=True), its default): the next backward hands its
    /// gradient buffers over instead of adding them into zeroed ones, and a parameter that gets no gradient is
    /// skipped by the next step, as torch.optim.Adam skips it.
    /// </summary>
    public void ZeroGrad()
    {
        foreach (var p in _params)
        {
            if (p.grad is not { } g) continue;
            p.grad = null;
            g.Dispose();
        }
    }

    public unsafe void Step()
    {
        using var scope = NewDisposeScope();
        var active = Enumerable.Range(0, _params.Length).Where(i => _params[i].grad is not null).ToArray();
        if (active.Length == 0) return;
        var grads = new Tensor[_params.Length];
        foreach (var i in active)
        {
            var g = _params[i].grad!;
            grads[i] = g.is_contiguous() ? g : g.contiguous();
            TensorPointers.CommonDevice(_params[i], grads[i]);
            _steps[i]++;
        }
        // One native call per distinct step count (normally exactly one).
        var groups = active.GroupBy(i => _steps[i]).ToArray();
        var clip = MaxGradNorm;
        if (clip > 0 && groups.Length > 1)
        {
            // Rare: parameters at different steps. Clip once over all of them here.
            var norm = stack(active.Select(i => grads[i].norm()).ToArray()).norm();
            _norm.copy_(norm.reshape(1));
            _normValid = true;
            var coef = ((norm + 1e-6).reciprocal() * clip).clamp_max(1.0);
            foreach (var i in active) grads[i] = grads[i] * coef;
            clip = 0;
        }
        for (var k = 0; k < groups.Length; k++)
        {
            try
            {
                Launch(groups[k].ToArray(), grads, groups[k].Key, clip);
            }
            catch
            {
                // Nothing of this group (or later ones) was written: their steps did not happen.
                for (var r = k; r < groups.Length; r++)
                    foreach (var i in groups[r]) _steps[i]--;
                throw;
            }
        }
    }

    private unsafe void Launch(int[] idx, Tensor[] grads, long step, double clip)
    {
        var n = idx.Length;
        var p = new IntPtr[n];
        var g = new IntPtr[n];
        var m = new IntPtr[n];
        var v = new IntPtr[n];
        var numels = new long[n];
        for (var k = 0; k < n; k++)
        {
            var i = idx[k];
            p[k] = (IntPtr)TensorPointers.Ptr(_params[i], $"parameter {i}");
            g[k] = (IntPtr)TensorPointers.Ptr(grads[i], $"grad of parameter {i}");
            m[k] = (IntPtr)TensorPointers.Ptr(ExpAvg[i], $"exp_avg {i}");
            v[k] = (IntPtr)TensorPointers.Ptr(ExpAvgSq[i], $"exp_avg_sq {i}");
            numels[k] = _params[i].NumberOfElements;
        }
        var device = TensorPointers.DeviceOf(_params[0]);
        long bytes;
        fixed (long* pn = numels)
            Native.Check(Methods.AdamWorkspaceSize(device, n, pn, &bytes));
        var ws = NativeTensorData.Workspace(ref _workspace, bytes, _params[0].device);
        fixed (IntPtr* pp = p, pg = g, pm = m, pv = v)
        fixed (long* pn = numels)
        {
            Native.Check(Methods.AdamStep(device, null, n, (float**)pp, (float**)pg, (float**)pm, (float**)pv, pn,
                LearningRate, Beta1, Beta2, Eps, WeightDecay, Decoupled ? 1 : 0, step, clip,
                clip > 0 ? TensorPointers.Ptr(_norm, "grad_norm_out") : null,
                ws is null ? null : TensorPointers.Ptr(ws, "workspace"), bytes));
        }
        if (clip > 0) _normValid = true;
    }

    /// <summary>
    /// Optimizer state as named tensors (copies): "{i}.exp_avg", "{i}.exp_avg_sq" and
    /// "{i}.step" (int64 scalar) for parameter i in constructor order.
    /// </summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>();
        for (var i = 0; i < _params.Length; i++)
        {
            d[$"{i}.exp_avg"] = ExpAvg[i].detach().clone().DetachFromDisposeScope();
            d[$"{i}.exp_avg_sq"] = ExpAvgSq[i].detach().clone().DetachFromDisposeScope();
            d[$"{i}.step"] = tensor(_steps[i]).DetachFromDisposeScope();
        }
        return d;
    }

    /// <summary>Restores a <see cref="StateDict"/> (shapes must match; values are copied in place).</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        for (var i = 0; i < _params.Length; i++)
        {
            Tensor Get(string key) => state.TryGetValue(key, out var t)
                ? t
                : throw new ArgumentException($"optimizer state has no '{key}'", nameof(state));
            var m = Get($"{i}.exp_avg");
            var v = Get($"{i}.exp_avg_sq");
            if (!m.shape.SequenceEqual(ExpAvg[i].shape) || !v.shape.SequenceEqual(ExpAvgSq[i].shape))
                throw new ArgumentException($"optimizer state for parameter {i} has shape [{string.Join(",", m.shape)}], " +
                                            $"expected [{string.Join(",", ExpAvg[i].shape)}]", nameof(state));
            using (no_grad())
            {
                ExpAvg[i].copy_(m);
                ExpAvgSq[i].copy_(v);
            }
            _steps[i] = Get($"{i}.step").item<long>();
        }
    }

    public void Dispose()
    {
        foreach (var t in ExpAvg) t.Dispose();
        foreach (var t in ExpAvgSq) t.Dispose();
        _norm.Dispose();
        _workspace?.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>AdamW (decoupled weight decay, torch.optim.AdamW semantics) over the fused multi-tensor kernel.</summary>
public sealed class FusedAdamW : FusedAdam
{
    public FusedAdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 1e-2, double maxGradNorm = 0.0)
        : base(parameters, lr, beta1, beta2, eps, weightDecay, maxGradNorm, decoupled: true) { }
}
