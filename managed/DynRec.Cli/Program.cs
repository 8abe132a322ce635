using System.CommandLine;
using DynRec.Cli;
using DynRec.Cli.Commands;
using DynRec.Data;
using DynRec.Models;
using DynRec.Training;

// `dynrec`: the DynRec command line. Each subcommand lives in Commands/.
// Training steps reallocate the same large tensors: keep freed ones in the heap (see HostAllocator).
HostAllocator.ConfigureForTraining();
ConsoleWidth.ConfigureForRedirectedOutput();
// The data loader and the model factory behind train/eval/predict/bench.
TrainingServices.Default = new TrainingServices
{
    LoadData = request =>
    {
        // Progress of generation/parsing goes to stderr so stdout stays the metrics.
        var split = DataSource.Load(request.Data, new LoadOptions { Encoding = request.Encoding, Log = message => Console.Error.WriteLine(message) });
        var scenarios = split.Train.Keys.ScenarioValues;
        return new LoadedData(split.Schema, split.Train, split.Test, encoding: split.Encoding, keyColumns: split.Train.Keys.Columns,
            scenarioValues: Enumerable.Range(0, scenarios.Length).Select(k => scenarios[k].ToString()).ToArray());
    },
    BuildModel = ModelFactory.Create,
};

var root = new RootCommand("DynRec: dynamic-weight multi-scenario, multi-task recommendation models (PEPNet, APG, M2M) on TorchSharp with fused native kernels");
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(TrainCommand.Create(TrainingServices.Default));
root.Subcommands.Add(EvalCommand.Create(TrainingServices.Default));
root.Subcommands.Add(PredictCommand.Create(TrainingServices.Default));
root.Subcommands.Add(ScoreCommand.Create(TrainingServices.Default));
root.Subcommands.Add(BenchCommand.Create(TrainingServices.Default));
root.Subcommands.Add(DataCommand.Create());
root.Subcommands.Add(DatagenCommand.Create());
root.Subcommands.Add(SelftestCommand.Create());
root.Subcommands.Add(BenchOptimCommand.Create());
// CliErrors owns user errors: one line, exit 2 (System.CommandLine's own handler is off).
return CliErrors.Invoke(root, args);
