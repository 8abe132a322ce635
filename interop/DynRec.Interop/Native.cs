using System.Runtime.InteropServices;

namespace DynRec.Interop;

/// <summary>Status checking and string helpers over the generated <see cref="Methods"/>.</summary>
public static unsafe class Native
{
    /// <summary>Throws the typed exception for a non-OK status, carrying the native message.</summary>
    public static void Check(Status status)
    {
        if (status == Status.Ok) return;
        var message = LastError();
        if (string.IsNullOrEmpty(message)) message = $"native call failed with {status}";
        throw status switch
        {
            Status.ErrInvalidArgument => new DynRecArgumentException(message),
            Status.ErrUnsupported => new DynRecUnsupportedException(message),
            Status.ErrCuda => new DynRecCudaException(message),
            Status.ErrOutOfMemory => new DynRecException(status, message),
            _ => new DynRecException(status, message),
        };
    }

    public static string LastError() => Utf8(Methods.LastError());

    public static string Version => Utf8(Methods.Version());

    public static string BuildInfo => Utf8(Methods.BuildInfo());

    public static int CudaDeviceCount
    {
        get
        {
            int n;
            Check(Methods.CudaDeviceCount(&n));
            return n;
        }
    }

    /// <summary>
    /// Threads libdynrec's CPU kernels use now: the count last set (Methods.SetNumThreads), else its default, OpenMP's
    /// count capped at a cgroup CPU quota (unless OMP_NUM_THREADS is set).
    /// </summary>
    public static int NumThreads
    {
        get
        {
            int n;
            Check(Methods.GetNumThreads(&n));
            return n;
        }
    }

    /// <summary>CUDA GEMMs may use TF32 tensor cores (process-wide; DYNREC_CUDA_TF32=0 turns the default off).</summary>
    public static bool CudaTf32
    {
        get
        {
            int on;
            Check(Methods.CudaGetTf32(&on));
            return on == 1;
        }
        set => Check(Methods.CudaSetTf32(value ? 1 : 0));
    }

    /// <summary>
    /// The CUDA forwards of gate_nu, gated_linear, epnet and apg_layer's dense steps apply bias, activation and gates
    /// in the GEMM's epilogue (process-wide; off by default, cuBLAS + an elementwise kernel measured faster;
    /// DYNREC_CUDA_FUSED_EPILOGUES=1 turns the default on).
    /// </summary>
    public static bool CudaFusedEpilogues
    {
        get
        {
            int on;
            Check(Methods.CudaGetFusedEpilogues(&on));
            return on == 1;
        }
        set => Check(Methods.CudaSetFusedEpilogues(value ? 1 : 0));
    }

    /// <summary>
    /// How CUDA hyper_linear and apg_layer's generated steps evaluate x_i S_i: Auto (by shape, from measured
    /// timings), Outer (outer-product GEMMs, S never formed) or Materialized (S formed per chunk of rows by cuBLAS).
    /// Process-wide; DYNREC_CUDA_HYPER_PATH=outer|materialized changes the default.
    /// </summary>
    public static HyperPath CudaHyperPath
    {
        get
        {
            int path;
            Check(Methods.CudaGetHyperPath(&path));
            return (HyperPath)path;
        }
        set => Check(Methods.CudaSetHyperPath((int)value));
    }

    /// <summary>
    /// CUDA TBE calls check every id first (one device-to-host copy + stream synchronize per call, a bad id named
    /// in the error). Off: no host round trip; an id outside its table reads as padding, unreported. Process-wide;
    /// DYNREC_CUDA_TBE_ID_CHECK=0 turns the default off.
    /// </summary>
    public static bool CudaTbeIdCheck
    {
        get
        {
            int on;
            Check(Methods.CudaGetTbeIdCheck(&on));
            return on == 1;
        }
        set => Check(Methods.CudaSetTbeIdCheck(value ? 1 : 0));
    }

    /// <summary>
    /// CUDA graphs for the multi-launch ops (apg_layer, hyper_linear, gate_nu, gated_linear, epnet): a call that
    /// repeats an earlier one exactly (every argument and pointer equal) replays its kernels as one cached graph.
    /// Same results; off by default (DYNREC_CUDA_GRAPHS=1 turns the default on). Process-wide.
    /// </summary>
    public static bool CudaGraphs
    {
        get
        {
            int on;
            Check(Methods.CudaGetGraphs(&on));
            return on == 1;
        }
        set => Check(Methods.CudaSetGraphs(value ? 1 : 0));
    }

    /// <summary>Graphs captured, calls served by a graph launch, and captures CUDA refused, since the library loaded.</summary>
    public static (long Captured, long Replayed, long Failed) CudaGraphCounters
    {
        get
        {
            long captured, replayed, failed;
            Check(Methods.CudaGraphCounters(&captured, &replayed, &failed));
            return (captured, replayed, failed);
        }
    }

    private static string Utf8(sbyte* p) => p == null ? "" : Marshal.PtrToStringUTF8((IntPtr)p) ?? "";
}
