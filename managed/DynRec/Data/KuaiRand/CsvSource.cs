using System.Globalization;
using nietras.SeparatedValues;

namespace DynRec.Data.KuaiRand;

/// <summary>
/// One CSV file opened with Sep: checks that the file exists, is not empty and
/// has the required columns, and turns every problem into a
/// <see cref="DataFormatException"/> naming file, line and column.
/// </summary>
internal sealed class CsvSource : IDisposable
{
    private CsvSource(string path, SepReader reader)
    {
        Path = path;
        Reader = reader;
        ColumnCount = reader.Header.ColNames.Count;
    }

    public string Path { get; }
    public SepReader Reader { get; }
    public int ColumnCount { get; }

    /// <param name="unescape">true for files with quoted values ("12,65" tags).</param>
    public static CsvSource Open(string path, bool unescape)
    {
        if (!File.Exists(path)) throw new DataFormatException(path, 0, null, "file not found");
        if (new FileInfo(path).Length == 0) throw new DataFormatException(path, 0, null, "file is empty (expected a header line)");
        SepReader reader;
        try
        {
            reader = Sep.Reader(o => o with { Unescape = unescape, DisableColCountCheck = true, HasHeader = true })
                .FromFile(path);
        }
        catch (ArgumentException e)  // Sep rejects a header that names a column twice
        {
            throw new DataFormatException(path, 1, null, $"bad header: {e.Message}");
        }
        if (reader.Header.IsEmpty)
        {
            reader.Dispose();
            throw new DataFormatException(path, 0, null, "file is empty (expected a header line)");
        }
        return new CsvSource(path, reader);
    }

    public bool HasColumn(string name) => Reader.Header.TryIndexOf(name, out _);

    /// <summary>Index of a required column, or an error listing what the header has.</summary>
    public int Column(string name)
    {
        if (Reader.Header.TryIndexOf(name, out var i)) return i;
        throw new DataFormatException(Path, 1, name,
            $"missing column (the header has {ColumnCount} columns: {string.Join(",", Reader.Header.ColNames.Take(30))}{(ColumnCount > 30 ? ",..." : "")})");
    }

    public int[] Columns(IEnumerable<string> names) => names.Select(Column).ToArray();

    public void CheckColumnCount(in SepReader.Row row)
    {
        if (row.ColCount != ColumnCount)
            throw new DataFormatException(Path, row.LineNumberFrom, null,
                $"expected {ColumnCount} columns (as in the header), found {row.ColCount}");
    }

    public DataFormatException Bad(in SepReader.Row row, int col, string problem) =>
        new(Path, row.LineNumberFrom, Reader.Header.ColNames[col], problem);

    public long Long(in SepReader.Row row, int col)
    {
        var s = row[col].Span;
        if (TryParseLong(s, out var v)) return v;
        throw Bad(row, col, $"'{Clip(s)}' is not an integer");
    }

    public int Int(in SepReader.Row row, int col)
    {
        var v = Long(row, col);
        if (v is < int.MinValue or > int.MaxValue) throw Bad(row, col, $"{v} is out of range");
        return (int)v;
    }

    /// <summary>A 0/1 flag: 0, 1, 0.0, 1.0, or false / true in any case (as pandas writes a bool column).</summary>
    public byte Flag(in SepReader.Row row, int col)
    {
        var s = row[col].Span;
        if (s.Length == 1 && (s[0] == '0' || s[0] == '1')) return (byte)(s[0] - '0');
        if (TryParseDouble(s, out var d) && (d == 0 || d == 1)) return (byte)d;
        var t = s.Trim();
        if (t.Equals("true", StringComparison.OrdinalIgnoreCase)) return 1;
        if (t.Equals("false", StringComparison.OrdinalIgnoreCase)) return 0;
        throw Bad(row, col, $"'{Clip(s)}' is not 0 or 1 (or false / true)");
    }

    /// <summary>An integer that may be written as a float ("1649412412003.0").</summary>
    public long IntegralNumber(in SepReader.Row row, int col)
    {
        var s = row[col].Span;
        if (TryParseLong(s, out var v)) return v;
        if (TryParseDouble(s, out var d) && d == Math.Floor(d) && Math.Abs(d) < 9.0e18) return (long)d;
        throw Bad(row, col, $"'{Clip(s)}' is not an integer");
    }

    /// <summary>A number; empty, "NaN" and "nan" are missing (NaN).</summary>
    public double NumberOrMissing(in SepReader.Row row, int col)
    {
        var s = row[col].Span.Trim();
        if (IsMissing(s)) return double.NaN;
        if (TryParseDouble(s, out var d)) return d;
        throw Bad(row, col, $"'{Clip(s)}' is not a number");
    }

    public static bool IsMissing(ReadOnlySpan<char> s) =>
        s.IsEmpty || s.Equals("NaN", StringComparison.OrdinalIgnoreCase) || s.Equals("null", StringComparison.OrdinalIgnoreCase);

    /// <summary>ASCII decimal integer with optional sign; the hot path of the log parser.</summary>
    public static bool TryParseLong(ReadOnlySpan<char> s, out long value)
    {
        value = 0;
        if (s.IsEmpty || s.Length > 19) return false;
        var i = 0;
        var negative = false;
        if (s[0] == '-') { negative = true; i = 1; if (s.Length == 1) return false; }
        long v = 0;
        for (; i < s.Length; i++)
        {
            var d = (uint)(s[i] - '0');
            if (d > 9) return false;
            v = v * 10 + d;
        }
        value = negative ? -v : v;
        return true;
    }

    public static bool TryParseDouble(ReadOnlySpan<char> s, out double value) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value);

    private static string Clip(ReadOnlySpan<char> s) => s.Length <= 40 ? s.ToString() : s[..40].ToString() + "...";

    public void Dispose() => Reader.Dispose();
}
