using System.CommandLine;
using System.Text;
using DynRec.Interop;

namespace DynRec.Cli.Commands;

/// <summary>
/// `dynrec selftest --device cpu|cuda`: runs libdynrec's self-test (every op,
/// forward and backward, on odd shapes, against the naive reference loops) and
/// prints its report. Exit 0 when every check passed, 1 on any mismatch, 2
/// (one line) when the device cannot be used, e.g. CUDA without a GPU.
/// </summary>
public static class SelftestCommand
{
    public const int Mismatch = 1;
    private const int ReportCapacity = 8 << 20;

    public static Command Create()
    {
        var device = new Option<string>("--device")
        {
            Description = "cpu: optimized CPU kernels vs reference; cuda: CUDA kernels (exact FP32 and TF32) vs reference",
            DefaultValueFactory = _ => "cpu",
        };
        var cmd = new Command("selftest", "Check every native kernel against the reference implementation") { device };
        // The error boundary sits inside the action too: System.CommandLine's default handler would
        // otherwise print a stack trace and exit 1 before Program's CliErrors.Run saw the exception.
        cmd.SetAction(pr => CliErrors.Run(() => Run(pr.GetValue(device) ?? "cpu", Console.Out)));
        return cmd;
    }

    /// <summary>Runs the self-test on <paramref name="device"/>, writes the report, returns the exit code.</summary>
    public static int Run(string device, TextWriter output)
    {
        var code = device.ToLowerInvariant() switch
        {
            "cpu" => Device.Cpu,
            "cuda" => Device.Cuda,
            _ => throw new UserException($"--device: unknown device '{device}'; valid devices: cpu, cuda"),
        };
        var report = new byte[ReportCapacity];
        int failures;
        unsafe
        {
            fixed (byte* p = report)
            {
                // CUDA on a CPU-only build or machine: DynRecUnsupportedException -> one line, exit 2.
                Native.Check(Methods.SelfTest((int)code, &failures, (sbyte*)p, report.Length));
            }
        }
        var length = Array.IndexOf(report, (byte)0);
        output.Write(Encoding.UTF8.GetString(report, 0, length < 0 ? report.Length : length));
        return failures == 0 ? 0 : Mismatch;
    }
}
