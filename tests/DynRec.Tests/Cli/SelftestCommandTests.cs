using DynRec.Cli;
using DynRec.Cli.Commands;
using DynRec.Interop;

namespace DynRec.Tests.Cli;

/// <summary>`dynrec selftest`: the CPU run passes and reports every op; bad or unavailable devices are user errors.</summary>
public class SelftestCommandTests
{
    [Test]
    public void CpuSelfTestPassesAndReportsEveryOp()
    {
        var output = new StringWriter();
        var code = SelftestCommand.Run("cpu", output);
        var report = output.ToString();
        Assert.That(code, Is.EqualTo(0), report);
        Assert.That(report, Does.Contain("summary: ").And.Contain(" 0 failed"));
        Assert.That(report, Does.Not.Contain("FAIL"));
        foreach (var op in new[] { "gate_nu", "gated_linear", "epnet", "hyper_linear", "apg_layer" })
            Assert.That(report, Does.Contain($"] {op} rows=1000"), $"{op} missing from the report");
    }

    [Test]
    public void UnknownDeviceIsAUserError()
    {
        var e = Assert.Throws<UserException>(() => SelftestCommand.Run("tpu", new StringWriter()));
        Assert.That(e!.Message, Does.Contain("valid devices: cpu, cuda"));
    }

    [Test]
    public void CudaWithoutAGpuExitsTwo()
    {
        if (Native.CudaDeviceCount > 0) Assert.Ignore("a CUDA device is visible: run `dynrec selftest --device cuda` instead");
        var output = new StringWriter();
        var code = CliErrors.Run(() => SelftestCommand.Run("cuda", output));
        Assert.That(code, Is.EqualTo(CliErrors.UserError));
        Assert.That(output.ToString(), Is.Empty, "no report without a device");
    }
}
