using nietras.SeparatedValues;
using DynRec.Training;

namespace DynRec.Metrics;

/// <summary>
/// A CSV with one row per finished run (run identity columns, then every metric
/// column), so runs can be compared in a spreadsheet. The header is written
/// once; a run that brings new columns (another task set) widens it, earlier
/// rows leaving those cells empty. Rewritten atomically on each append.
/// </summary>
public static class RunsLog
{
    public static void Append(string path, IReadOnlyList<KeyValuePair<string, string>> runColumns, IEnumerable<KeyValuePair<string, double>> metrics)
    {
        var columns = new List<string>();
        var rows = new List<Dictionary<string, string>>();
        if (File.Exists(path) && new FileInfo(path).Length > 0)
        {
            using var reader = Sep.Reader(o => o with { Unescape = true }).FromFile(path);
            columns.AddRange(reader.Header.ColNames);
            foreach (var row in reader)
            {
                var values = new Dictionary<string, string>();
                foreach (var c in columns) values[c] = row[c].ToString();
                rows.Add(values);
            }
        }
        var newRow = new Dictionary<string, string>();
        foreach (var (key, value) in runColumns) newRow[key] = value;
        foreach (var (key, value) in metrics) newRow[key] = double.IsNaN(value) ? "" : MetricsReport.Format(key, value);
        rows.Add(newRow);
        foreach (var key in newRow.Keys)
            if (!columns.Contains(key)) columns.Add(key);

        AtomicFile.Write(path, stream =>
        {
            using var text = new StreamWriter(stream, leaveOpen: true);
            using var writer = Sep.New(',').Writer(o => o with { Escape = true }).To(text);
            foreach (var values in rows)
            {
                using var row = writer.NewRow();
                foreach (var c in columns) row[c].Set(values.GetValueOrDefault(c, ""));
            }
        });
    }
}
