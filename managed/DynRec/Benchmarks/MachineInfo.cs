namespace DynRec.Benchmarks;

/// <summary>
/// What a benchmark figure depends on besides the code: logical CPU count, the
/// CPU model (/proc/cpuinfo) and the load average (/proc/loadavg), the latter
/// read at the start and the end of a run so a noisy machine shows.
/// </summary>
public static class MachineInfo
{
    public static int LogicalCpus => Environment.ProcessorCount;

    /// <summary>"model name" of the first CPU in /proc/cpuinfo, or the OS description where there is none.</summary>
    public static string CpuModel()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is var colon and >= 0)
                    return line[(colon + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return System.Runtime.InteropServices.RuntimeInformation.OSDescription;
    }

    /// <summary>The 1, 5 and 15 minute load averages ("1.36 2.04 4.75"), or "n/a" off Linux.</summary>
    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return parts.Length >= 3 ? $"{parts[0]} {parts[1]} {parts[2]}" : "n/a";
        }
        catch (IOException) { return "n/a"; }
        catch (UnauthorizedAccessException) { return "n/a"; }
    }
}
