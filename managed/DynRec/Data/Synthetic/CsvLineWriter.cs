using System.Globalization;
using System.Text;

namespace DynRec.Data.Synthetic;

/// <summary>
/// Writes CSV lines through a char buffer with invariant formatting and "\n"
/// line ends (byte-identical output for identical calls), to a temp file that
/// replaces the target only on <see cref="Commit"/>.
/// </summary>
internal sealed class CsvLineWriter : IDisposable
{
    private readonly StreamWriter _out;
    private readonly char[] _buffer = new char[1 << 16];
    private readonly string _path, _temp;
    private int _length;
    private bool _first = true;
    private bool _committed;

    public CsvLineWriter(string path)
    {
        _path = path;
        _temp = $"{path}.{Guid.NewGuid():N}.tmp";
        _out = new StreamWriter(new FileStream(_temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20),
            new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16);
    }

    public CsvLineWriter Header(IEnumerable<string> columns)
    {
        foreach (var c in columns) Text(c);
        return End();
    }

    private void Separator(int room)
    {
        if (_length + room + 2 > _buffer.Length) Flush();
        if (!_first) _buffer[_length++] = ',';
        _first = false;
    }

    public CsvLineWriter Int(long value)
    {
        Separator(24);
        value.TryFormat(_buffer.AsSpan(_length), out var n, default, CultureInfo.InvariantCulture);
        _length += n;
        return this;
    }

    /// <summary>A float with up to <paramref name="decimals"/> decimals, e.g. "12345.0".</summary>
    public CsvLineWriter Fixed(double value, int decimals)
    {
        Separator(40);
        value.TryFormat(_buffer.AsSpan(_length), out var n, decimals switch { 1 => "0.0", 2 => "0.00", 4 => "0.0000", _ => "0.000000" },
            CultureInfo.InvariantCulture);
        _length += n;
        return this;
    }

    /// <summary>A float in shortest round-trip form.</summary>
    public CsvLineWriter Float(float value)
    {
        Separator(40);
        value.TryFormat(_buffer.AsSpan(_length), out var n, "R", CultureInfo.InvariantCulture);
        _length += n;
        return this;
    }

    /// <summary>Text, quoted when it holds a comma or quote (as pandas writes "12,65").</summary>
    public CsvLineWriter Text(string value)
    {
        Separator(value.Length * 2 + 2);
        if (value.AsSpan().IndexOfAny(',', '"') < 0)
        {
            value.CopyTo(_buffer.AsSpan(_length));
            _length += value.Length;
            return this;
        }
        _buffer[_length++] = '"';
        foreach (var ch in value)
        {
            if (ch == '"') _buffer[_length++] = '"';
            _buffer[_length++] = ch;
        }
        _buffer[_length++] = '"';
        return this;
    }

    public CsvLineWriter Empty()
    {
        Separator(0);
        return this;
    }

    public CsvLineWriter End()
    {
        if (_length + 1 > _buffer.Length) Flush();
        _buffer[_length++] = '\n';
        _first = true;
        return this;
    }

    private void Flush()
    {
        _out.Write(_buffer, 0, _length);
        _length = 0;
    }

    /// <summary>Finishes the file and moves it into place.</summary>
    public void Commit()
    {
        Flush();
        _out.Flush();
        _out.Dispose();
        File.Move(_temp, _path, overwrite: true);
        _committed = true;
    }

    public void Dispose()
    {
        if (_committed) return;
        _out.Dispose();
        if (File.Exists(_temp)) File.Delete(_temp);
    }
}
