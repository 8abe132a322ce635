using DynRec.Data.KuaiRand;
using nietras.SeparatedValues;

namespace DynRec.Data;

/// <summary>Counts of a preprocessed split (what `dynrec data stats` prints).</summary>
public sealed record DataStats(
    string Source,
    long RowsRead,
    long RowsDroppedByTab,
    int TrainRows,
    int TestRows,
    int Users,
    int Videos,
    int Authors,
    int TestDate,
    IReadOnlyList<string> Fields,
    IReadOnlyDictionary<string, int> VocabularySizes,
    IReadOnlyList<long> TrainRowsPerScenario,
    IReadOnlyList<long> TestRowsPerScenario,
    IReadOnlyDictionary<string, long> TrainPositives,
    IReadOnlyDictionary<string, long> TestPositives,
    OracleAuc? Oracle,
    bool TestHasLabels = true,
    string ScenarioField = "tab",
    IReadOnlyList<string>? ScenarioValues = null)
{
    public static DataStats Of(DataSplit split)
    {
        var s = split.Schema;
        long[] PerScenario(Dataset d)
        {
            var a = new long[s.ScenarioCount];
            for (var r = 0; r < d.Rows; r++) a[d.ScenarioOf(r)]++;
            return a;
        }
        // Counted, not summed as floats: a float sum stops being exact past 2^24 positives.
        long CountPositives(Dataset d, int task)
        {
            long n = 0;
            for (var r = 0; r < d.Rows; r++)
                if (d.Label(task, r) > 0.5f) n++;
            return n;
        }
        Dictionary<string, long> Positives(Dataset d) =>
            s.Tasks.Select((t, i) => (t, CountPositives(d, i))).ToDictionary(x => x.t, x => x.Item2);
        return new DataStats(split.Info.Source, split.Info.RowsRead, split.Info.RowsDroppedByTab, split.Train.Rows,
            split.Test.Rows, split.Info.Users, split.Info.Videos, split.Info.Authors, split.Info.TestDate,
            s.SparseFields.Select(f => f.Name).ToArray(), s.SparseFields.ToDictionary(f => f.Name, f => f.VocabularySize),
            PerScenario(split.Train), PerScenario(split.Test), Positives(split.Train), Positives(split.Test),
            OracleAuc.Of(split), split.Test.HasLabels, s.ScenarioField,
            Enumerable.Range(0, split.Train.Keys.ScenarioValues.Length).Select(k => split.Train.Keys.ScenarioValues[k].ToString()).ToArray());
    }
}

/// <summary>
/// AUC of the planted true probabilities on the test rows (the best any model
/// can do), overall and per scenario, and of the best TAB-BLIND predictor
/// (the user's tab mixture, from oracle_test.csv) — the gap is what
/// scenario-awareness is worth.
/// </summary>
public sealed record OracleAuc(
    IReadOnlyDictionary<string, double> Overall,
    IReadOnlyDictionary<string, double[]> PerScenario,
    IReadOnlyDictionary<string, double>? TabBlindOverall,
    IReadOnlyDictionary<string, double[]>? TabBlindPerScenario)
{
    public static OracleAuc? Of(DataSplit split)
    {
        var test = split.Test;
        if (test.Oracle == null) return null;
        var tasks = split.Schema.Tasks;
        var labels = tasks.Select((_, i) => test.LabelColumn(i)).ToArray();
        var scenarios = test.ScenarioColumn();
        var blind = ReadTabBlind(Path.Combine(split.Info.Source, KuaiRandSources.OracleFileName), test.Rows);
        Dictionary<string, double> Overall(float[][] p) =>
            tasks.Select((t, i) => (t, Auc.Exact(p[i], labels[i], null, 0))).ToDictionary(x => x.t, x => x.Item2);
        Dictionary<string, double[]> PerScenario(float[][] p) => tasks.Select((t, i) => (t,
                Enumerable.Range(0, split.Schema.ScenarioCount).Select(sc => Auc.Exact(p[i], labels[i], scenarios, sc)).ToArray()))
            .ToDictionary(x => x.t, x => x.Item2);
        return new OracleAuc(Overall(test.Oracle), PerScenario(test.Oracle),
            blind == null ? null : Overall(blind), blind == null ? null : PerScenario(blind));
    }

    private static float[][]? ReadTabBlind(string path, int rows)
    {
        if (!File.Exists(path)) return null;
        using var reader = Sep.Reader().FromFile(path);
        string[] names = { "p_is_click_tab_blind", "p_long_view_tab_blind", "p_is_like_tab_blind" };
        if (!names.All(n => reader.Header.TryIndexOf(n, out _))) return null;
        var cols = names.Select(n => reader.Header.IndexOf(n)).ToArray();
        var p = cols.Select(_ => new float[rows]).ToArray();
        var i = 0;
        foreach (var row in reader)
        {
            if (i >= rows) return null;
            for (var t = 0; t < cols.Length; t++)
                if (!CsvSource.TryParseDouble(row[cols[t]].Span, out var v)) return null;  // optional extra: skip it
                else p[t][i] = (float)v;
            i++;
        }
        return i == rows ? p : null;
    }
}

/// <summary>Exact ROC AUC with tied scores averaged (rank statistic); NaN when a class is absent.</summary>
internal static class Auc
{
    public static double Exact(float[] score, float[] label, int[]? group, int groupValue)
    {
        var idx = Enumerable.Range(0, score.Length).Where(i => group == null || group[i] == groupValue).ToArray();
        Array.Sort(idx, (a, b) => score[a].CompareTo(score[b]));
        double rankSumPositive = 0;
        long positives = 0;
        for (var i = 0; i < idx.Length;)
        {
            var j = i;
            while (j < idx.Length && score[idx[j]] == score[idx[i]]) j++;
            var averageRank = (i + 1 + j) / 2.0;  // ranks i+1..j share their mean
            for (var k = i; k < j; k++)
                if (label[idx[k]] > 0.5f) { rankSumPositive += averageRank; positives++; }
            i = j;
        }
        var negatives = idx.Length - positives;
        if (positives == 0 || negatives == 0) return double.NaN;
        return (rankSumPositive - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }
}
