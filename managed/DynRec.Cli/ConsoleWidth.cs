using System.Globalization;
using Spectre.Console;

namespace DynRec.Cli;

/// <summary>
/// Width of the tables when stdout is not a terminal. Spectre.Console assumes 80 columns there and wraps
/// every cell of a wide table (a `bench ops` row into five lines), which mangles output saved to a file or
/// read by a script; tables only take the width they need, so a wide limit changes nothing else.
/// </summary>
public static class ConsoleWidth
{
    /// <summary>Width used for redirected output when COLUMNS does not say otherwise.</summary>
    public const int RedirectedDefault = 240;

    /// <summary>Sets the width of redirected output: COLUMNS when it holds a positive number, else <see cref="RedirectedDefault"/>.</summary>
    public static void ConfigureForRedirectedOutput()
    {
        if (!Console.IsOutputRedirected) return;
        AnsiConsole.Profile.Width = Resolve(Environment.GetEnvironmentVariable("COLUMNS"));
    }

    /// <summary>The width for a COLUMNS value (null or not a positive integer: the default).</summary>
    public static int Resolve(string? columns) =>
        int.TryParse(columns, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : RedirectedDefault;
}
