namespace DynRec.Metrics;

/// <summary>
/// Everything the metrics need from one evaluation pass, one array per task in
/// schema task order (index t), all of length <see cref="Rows"/>:
/// predicted probabilities, 0/1 labels, each row's scenario and user, and, on
/// synthetic data whose ground truth is known, the true probabilities.
/// </summary>
public sealed class PredictionSet
{
    public PredictionSet(IReadOnlyList<string> tasks, float[][] probabilities, float[][] labels, long[] scenario, long[] userIds,
        float[][]? trueProbabilities = null)
    {
        if (tasks.Count == 0) throw new ArgumentException("a prediction set needs at least one task");
        if (probabilities.Length != tasks.Count || labels.Length != tasks.Count || (trueProbabilities != null && trueProbabilities.Length != tasks.Count))
            throw new ArgumentException($"expected one probability/label array per task ({tasks.Count})");
        var rows = scenario.Length;
        if (userIds.Length != rows) throw new ArgumentException($"user ids ({userIds.Length}) and scenarios ({rows}) differ in length");
        for (var t = 0; t < tasks.Count; t++)
        {
            if (probabilities[t].Length != rows || labels[t].Length != rows || (trueProbabilities != null && trueProbabilities[t].Length != rows))
                throw new ArgumentException($"task '{tasks[t]}': arrays must all have {rows} rows");
        }
        Tasks = tasks;
        Probabilities = probabilities;
        Labels = labels;
        Scenario = scenario;
        UserIds = userIds;
        TrueProbabilities = trueProbabilities;
    }

    public IReadOnlyList<string> Tasks { get; }
    public float[][] Probabilities { get; }
    public float[][] Labels { get; }
    public long[] Scenario { get; }
    public long[] UserIds { get; }
    public float[][]? TrueProbabilities { get; }
    public int Rows => Scenario.Length;
}
