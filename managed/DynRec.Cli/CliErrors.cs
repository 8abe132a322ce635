using DynRec.Interop;

namespace DynRec.Cli;

/// <summary>
/// The CLI's error boundary: errors a user can cause become one line on
/// stderr and exit code 2, never a stack trace.
/// </summary>
public static class CliErrors
{
    public const int UserError = 2;

    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsUserError(e))
        {
            Console.Error.WriteLine($"dynrec: error: {Flatten(e)}");
            return UserError;
        }
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
