namespace DynRec.Data;

/// <summary>
/// Bad input data (a FormatException, so the CLI reports it as one line): the message names the file, the line (1 = header, 0 = the
/// file as a whole) and the column where that applies, and says what is wrong.
/// </summary>
public sealed class DataFormatException : FormatException
{
    public DataFormatException(string file, long line, string? column, string problem)
        : base(Compose(file, line, column, problem))
    {
        File = file;
        Line = line;
        Column = column;
        Problem = problem;
    }

    public string File { get; }
    public long Line { get; }
    public string? Column { get; }
    public string Problem { get; }

    private static string Compose(string file, long line, string? column, string problem)
    {
        var where = file;
        if (line > 0) where += $", line {line}";
        if (column != null) where += $", column '{column}'";
        return $"{where}: {problem}";
    }
}
