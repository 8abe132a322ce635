using System.Diagnostics;
using DynRec.Training.Checkpointing;

namespace DynRec.Tests.Cli;

/// <summary>
/// `train` as its own process gets a real SIGTERM (what `kill`, `docker stop` and job schedulers send) while
/// it trains: it must stop after the step in progress with a resumable checkpoint and exit 143, and `--resume`
/// must then finish the run on the same data. (SIGINT takes the same path; it is not sent here because a shell's background
/// jobs, as CI may run this suite, inherit SIGINT ignored.)
/// </summary>
public partial class StopSignalTests
{
    private const int SIGTERM = 15;

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    private string _dir = "";

    [SetUp]
    public void CreateDirectory() => _dir = Directory.CreateTempSubdirectory("dynrec-signal-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void SigtermStopsTrainingWithACheckpointThatResumes()
    {
        var data = Path.Combine(_dir, "data");
        var gen = CliProcess.Run(new Dictionary<string, string?>(), "datagen", "--out", data, "--users", "300", "--videos", "600", "--rows", "40000");
        Assert.That(gen.Code, Is.Zero, gen.Stderr);
        var run = Path.Combine(_dir, "run");
        string[] train = ["train", "--model", "dnn", "--data", data, "--out", run, "--epochs", "2", "--threads", "1",
            "--set", "train.batch_size=16", "--set", "train.log_every_seconds=0.1"];

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "DynRec.Cli.dll"));
        foreach (var a in train) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = new System.Text.StringBuilder();
        // The first progress line of epoch 1 says training is under way (the handler is registered before it).
        string? line;
        while ((line = process.StandardOutput.ReadLine()) != null)
        {
            stdout.AppendLine(line);
            if (line.StartsWith("epoch 1/2 step ", StringComparison.Ordinal)) break;
        }
        // (A lazy message: stderr's text exists only once the process has ended.)
        Assert.That(line, Is.Not.Null, () => $"training never reported a step:\n{stdout}\n{stderr.Result}");
        Assert.That(kill(process.Id, SIGTERM), Is.Zero, () => $"kill(2): errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        stdout.Append(process.StandardOutput.ReadToEnd());
        Assert.That(process.WaitForExit(TimeSpan.FromMinutes(1)), Is.True, "still running a minute after SIGTERM");

        var error = stderr.Result;
        Assert.That(process.ExitCode, Is.EqualTo(143), $"{stdout}\n{error}");
        Assert.That(error, Does.Contain("dynrec: SIGTERM: stopping after this step"));
        Assert.That(error, Does.Contain("training interrupted in epoch 1 after").And.Contain($"continue with: train --resume --out {run}"));
        Assert.That(error, Does.Not.Contain("   at "), "no stack trace");
        var last = new CheckpointStore(Path.Combine(run, "checkpoints")).FindLast();
        Assert.That(Path.GetFileName(last), Does.StartWith("epoch-0001-step-"));
        Assert.That(File.Exists(Path.Combine(run, "metrics.json")), Is.False, "an unfinished run writes no results");

        var resumed = CliProcess.Run(new Dictionary<string, string?>(), ["train", "--resume", "--out", run, "--threads", "1"]);
        Assert.That(resumed.Code, Is.Zero, resumed.Stderr);
        Assert.That(resumed.Stdout, Does.Contain("resumed in epoch 1 after"));
        // Without --data a resume reads the data the checkpoint names, not the synthetic default.
        Assert.That(resumed.Stdout, Does.Contain($"on {data}: "));
        Assert.That(File.Exists(Path.Combine(run, "metrics.json")), Is.True);
    }
}
