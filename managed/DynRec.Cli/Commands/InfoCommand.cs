using System.CommandLine;
using DynRec.Interop;

namespace DynRec.Cli.Commands;

/// <summary>`dynrec info`: versions and what the native library was built with.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var cmd = new Command("info", "Show the native library's version, build and devices");
        cmd.SetAction(_ =>
        {
            Console.WriteLine($"libdynrec   {Native.Version}");
            Console.WriteLine($"build       {Native.BuildInfo}");
            Console.WriteLine($"cuda        {Native.CudaDeviceCount} device(s) visible to libdynrec; TorchSharp cuda: {TorchSharp.torch.cuda.is_available()}");
            Console.WriteLine($"cuda math   TF32 {(Native.CudaTf32 ? "on" : "off")}, fused GEMM epilogues {(Native.CudaFusedEpilogues ? "on" : "off")}" +
                              " (DYNREC_CUDA_TF32=0 turns TF32 off, DYNREC_CUDA_FUSED_EPILOGUES=1 the fused epilogues on)");
            Console.WriteLine($"cuda hyper  {Native.CudaHyperPath switch { HyperPath.Outer => "outer-product GEMMs", HyperPath.Materialized => "materialized S", HyperPath.Fused => "fused per-row kernels", _ => "auto (by shape)" }}" +
                              " path for hyper_linear / APG generated steps (DYNREC_CUDA_HYPER_PATH=outer|materialized|fused forces one)");
            Console.WriteLine($"cuda tbe    id check {(Native.CudaTbeIdCheck ? "on (one host round trip per call)" : "off (bad ids read as padding)")}" +
                              " (DYNREC_CUDA_TBE_ID_CHECK=0 turns it off)");
            var graphs = Native.CudaGraphCounters;
            Console.WriteLine($"cuda graphs {(Native.CudaGraphs ? "on (repeated calls replay a cached graph)" : "off")}" +
                              $" (DYNREC_CUDA_GRAPHS=1 turns them on; {graphs.Captured} captured, {graphs.Replayed} replayed, {graphs.Failed} refused)");
            Console.WriteLine($"torch       TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version}");
            var libdynrecAlone = Native.NumThreads;  // before Apply sets it: what a native program would get
            var threads = DynRec.Training.CpuThreads.Apply(0);
            Console.WriteLine($"threads     {threads} for LibTorch and libdynrec by default ({DynRec.Training.CpuThreads.Explain()};" +
                              $" libdynrec's own default {libdynrecAlone}: OpenMP's count within the cgroup CPU quota)");
            Console.WriteLine($"malloc      {DynRec.Training.HostAllocator.Status}" +
                              (DynRec.Training.HostAllocator.Status.StartsWith("tuned") ? " (DYNREC_HOST_ALLOCATOR=default keeps glibc's)" : ""));
            return 0;
        });
        return cmd;
    }
}
