using System.Diagnostics;

namespace DynRec.Tests.Cli;

/// <summary>Runs the built CLI (DynRec.Cli.dll beside the tests) as its own process, stdout redirected.</summary>
public static class CliProcess
{
    /// <param name="environment">Variables to set (a null value removes the variable).</param>
    public static (int Code, string Stdout, string Stderr) Run(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "DynRec.Cli.dll"));
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (name, value) in environment)
            if (value is null) info.Environment.Remove(name);
            else info.Environment[name] = value;
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, stdout, "the CLI did not finish in 2 minutes");
        }
        return (process.ExitCode, stdout, stderr.Result);
    }
}
