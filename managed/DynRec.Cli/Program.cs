using System.CommandLine;
using DynRec.Cli;
using DynRec.Cli.Commands;

// `dynrec`: the DynRec command line. Each subcommand lives in Commands/.
var root = new RootCommand("DynRec: dynamic-weight multi-scenario, multi-task recommendation models (PEPNet, APG, M2M) on TorchSharp with fused native kernels");
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(TrainCommand.Create(TrainingServices.Default));
root.Subcommands.Add(EvalCommand.Create(TrainingServices.Default));
root.Subcommands.Add(PredictCommand.Create(TrainingServices.Default));
root.Subcommands.Add(BenchCommand.Create(TrainingServices.Default));
root.Subcommands.Add(DataCommand.Create());
root.Subcommands.Add(DatagenCommand.Create());
root.Subcommands.Add(SelftestCommand.Create());
root.Subcommands.Add(BenchOptimCommand.Create());
// CliErrors owns user errors: one line, exit 2 (System.CommandLine's own handler is off).
return CliErrors.Invoke(root, args);
