using System.CommandLine;
using DynRec.Interop;

namespace DynRec.Cli;

/// <summary>
/// The CLI's error boundary: errors a user can cause become one line on
/// stderr and exit code 2, never a stack trace.
/// </summary>
public static class CliErrors
{
    public const int UserError = 2;

    public static int Run(Func<int> body) => Run(body, Console.Error);

    public static int Run(Func<int> body, TextWriter error)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsUserError(e))
        {
            error.WriteLine($"dynrec: error: {Flatten(e)}");
            return UserError;
        }
    }

    /// <summary>
    /// Parses and runs a command line. A parse error (unknown option, unparsable value) is a user error too:
    /// one line and exit 2. System.CommandLine's own exception handler is off: it would print a stack trace
    /// and return 1 before <see cref="Run(Func{int})"/> could see the exception.
    /// </summary>
    public static int Invoke(Command root, string[] args, TextWriter? error = null)
    {
        error ??= Console.Error;
        return Run(() =>
        {
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                error.WriteLine($"dynrec: error: {parsed.Errors[0].Message} (see --help)");
                return UserError;
            }
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }, error);
    }

    /// <summary>Exceptions a user's input or environment can cause.</summary>
    public static bool IsUserError(Exception e) => e is UserException or DynRecException or ArgumentException
        or FileNotFoundException or DirectoryNotFoundException or InvalidDataException or FormatException
        or DllNotFoundException or NotSupportedException or IOException or UnauthorizedAccessException
        || (e is AggregateException a && a.InnerExceptions.All(IsUserError))
        || (e is TypeInitializationException t && t.InnerException is not null && IsUserError(t.InnerException));

    private static string Flatten(Exception e) => e switch
    {
        AggregateException a => string.Join("; ", a.InnerExceptions.Select(Flatten)),
        TypeInitializationException t when t.InnerException is not null => Flatten(t.InnerException),
        _ => e.Message.Replace('\n', ' '),
    };
}

/// <summary>A problem with what the user asked for; the message says what and the valid choices.</summary>
public sealed class UserException : Exception
{
    public UserException(string message) : base(message) { }
}
