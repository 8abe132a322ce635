using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Ops;

/// <summary>
/// Lifetime of the managed tensors a native op's backward creates. Without it
/// they live until the caller's dispose scope ends (after the optimizer step),
/// or, on CUDA, where LibTorch runs backward on its own device thread with no
/// scope, until the garbage collector finalizes them; either way every
/// gradient of the step stays allocated at once. Measured on the CPU (PEPNet,
/// batch 8): ~270 extra page faults per step, as glibc returned that peak to
/// the kernel and faulted it back in on the next step.
///
/// <para>Usage: <c>using var scope = BackwardScope.Begin(grads);</c> at the top of
/// backward, <c>return scope.HandOff(...)</c> at the end. Temporaries (unpacked
/// saved tensors, contiguous copies, workspaces) and the incoming gradient
/// wrappers are disposed when backward returns. The returned gradients are
/// detached from every scope: LibTorch copies its own references out of them
/// right after backward returns, so the wrappers are disposed at the start of
/// the next backward on the same thread (one op's gradients outlive a step at
/// most).</para>
/// </summary>
internal sealed class BackwardScope : IDisposable
{
    [ThreadStatic] private static List<Tensor>? t_handedOff;

    private readonly DisposeScope _scope;
    private readonly List<Tensor> _incoming;

    private BackwardScope(List<Tensor> incoming)
    {
        _incoming = incoming;
        _scope = NewDisposeScope();
    }

    /// <summary>Releases this thread's previous hand-off and opens a scope for this backward.</summary>
    public static BackwardScope Begin(List<Tensor> gradOutputs)
    {
        ReleaseHandedOff();
        return new BackwardScope(gradOutputs);
    }

    /// <summary>The gradients to return, kept alive past this scope until the next backward on this thread.</summary>
    public List<Tensor> HandOff(params Tensor?[] gradients)
    {
        var handedOff = t_handedOff ??= new List<Tensor>();
        var result = new List<Tensor>(gradients.Length);
        foreach (var g in gradients)
        {
            if (g is not null)
            {
                g.DetachFromDisposeScope();
                handedOff.Add(g);
            }
            result.Add(g!);
        }
        return result;
    }

    public void Dispose()
    {
        _scope.Dispose();
        // The gradient wrappers TorchSharp made for this call; LibTorch holds its own references.
        foreach (var g in _incoming) g?.Dispose();
    }

    private static void ReleaseHandedOff()
    {
        var handedOff = t_handedOff;
        if (handedOff is null || handedOff.Count == 0) return;
        foreach (var t in handedOff) t.Dispose();
        handedOff.Clear();
    }
}
