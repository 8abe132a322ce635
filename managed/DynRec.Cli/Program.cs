using System.CommandLine;
using DynRec.Cli;
using DynRec.Cli.Commands;

// `dynrec`: the DynRec command line. Each subcommand lives in Commands/.
var root = new RootCommand("DynRec: dynamic-weight multi-scenario, multi-task recommendation models (PEPNet, APG, M2M) on TorchSharp with fused native kernels");
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(DemoCommand.Create());
root.Subcommands.Add(SelftestCommand.Create());
root.Subcommands.Add(BenchOptimCommand.Create());
root.Subcommands.Add(DataCommand.Create());
root.Subcommands.Add(DatagenCommand.Create());
// The default handler would print a stack trace and exit 1; CliErrors owns user errors (one line, exit 2).
return CliErrors.Run(() => root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
