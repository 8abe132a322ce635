using DynRec.Cli.Commands;
using DynRec.Data;
using DynRec.Training;

namespace DynRec.Tests.Cli;

/// <summary>The real data layer and model factory as Program.cs connects them, without the cache and the progress log.</summary>
internal static class RealDataServices
{
    public static readonly TrainingServices Uncached = new()
    {
        LoadData = request =>
        {
            var split = DataSource.Load(request.Data, new LoadOptions { UseCache = false, Encoding = request.Encoding });
            var scenarios = split.Train.Keys.ScenarioValues;
            return new LoadedData(split.Schema, split.Train, split.Test, encoding: split.Encoding, keyColumns: split.Train.Keys.Columns,
                scenarioValues: Enumerable.Range(0, scenarios.Length).Select(k => scenarios[k].ToString()).ToArray());
        },
        BuildModel = DynRec.Models.ModelFactory.Create,
    };
}
