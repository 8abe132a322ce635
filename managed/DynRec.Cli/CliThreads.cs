using System.CommandLine;

namespace DynRec.Cli;

/// <summary>The --threads option every command that runs LibTorch takes (see DynRec.Training.CpuThreads).</summary>
public static class CliThreads
{
    public const string Description =
        "CPU threads for LibTorch and libdynrec (0 = LibTorch's count, at most the CPUs this process may use: a container's CPU quota counts; OMP_NUM_THREADS wins)";

    public static Option<int> Create() => new("--threads") { Description = Description, DefaultValueFactory = _ => 0 };

    /// <summary>Checks a --threads value and gives LibTorch and libdynrec that many (0: the default); returns the count.</summary>
    public static int Apply(int threads)
    {
        if (threads < 0) throw new UserException($"--threads must be >= 0, got {threads}");
        return DynRec.Training.CpuThreads.Apply(threads);
    }
}
