// A .NET app that uses DynRec from its NuGet packages, as a user would:
//  1. libdynrec through the generated P/Invoke bindings (DynRec.Interop): the
//     optimized gate_nu kernel against its reference loops, and a rejected
//     argument surfacing as a typed exception with the native message;
//  2. the managed library (DynRec, TorchSharp): the README's "Training from
//     .NET" snippet on a small synthetic data set, with the shipped configs.
// Prints one "ok: ..." line per check; exits non-zero on the first failure.
using DynRec.Config;
using DynRec.Data;
using DynRec.Data.Synthetic;
using DynRec.Interop;
using DynRec.Models;
using DynRec.Ops;
using DynRec.Training;
using DynRec.Training.Checkpointing;
using TorchSharp;

if (args.Length != 1) { Console.Error.WriteLine("usage: Consumer <expected libdynrec version>"); return 2; }
try
{
    Check(Native.Version == args[0], $"libdynrec {Native.Version} loaded (expected {args[0]})");
    GateNuAgreesWithReference();
    RejectedArgumentIsTyped();
    TrainsPepNetFromThePackage();
    return 0;
}
catch (Exception e)
{
    Console.Error.WriteLine($"FAILED: {e}");
    return 1;
}

static void Check(bool condition, string what)
{
    if (!condition) throw new InvalidOperationException(what);
    Console.WriteLine($"ok: {what}");
}

static unsafe void GateNuAgreesWithReference()
{
    const int batch = 37, nIn = 19, nHidden = 11, nOut = 13;
    var rng = new Random(7);
    float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    float[] x = Rand(batch * nIn), w1 = Rand(nHidden * nIn), b1 = Rand(nHidden), w2 = Rand(nOut * nHidden), b2 = Rand(nOut);
    float[] hidden = new float[batch * nHidden], delta = new float[batch * nOut];
    float[] hiddenRef = new float[batch * nHidden], deltaRef = new float[batch * nOut];
    fixed (float* px = x, pw1 = w1, pb1 = b1, pw2 = w2, pb2 = b2, ph = hidden, pd = delta, phr = hiddenRef, pdr = deltaRef)
    {
        Native.Check(Methods.GateNuForward((int)Device.Cpu, null, batch, nIn, nHidden, nOut, px, pw1, pb1, pw2, pb2, 2f, ph, pd));
        Native.Check(Methods.GateNuForwardReference(batch, nIn, nHidden, nOut, px, pw1, pb1, pw2, pb2, 2f, phr, pdr));
    }
    var maxDiff = delta.Zip(deltaRef, (a, b) => Math.Abs(a - b)).Max();
    Check(maxDiff < 1e-5f && delta.All(d => d > 0 && d < 2), $"gate_nu through P/Invoke matches its reference loops (max |diff| {maxDiff:E1})");
}

static unsafe void RejectedArgumentIsTyped()
{
    try
    {
        Native.Check(Methods.GateNuForward((int)Device.Cpu, null, -1, 4, 4, 4, null, null, null, null, null, 2f, null, null));
    }
    catch (DynRecArgumentException e)
    {
        Check(e.Message.Length > 0, $"a bad argument is a DynRecArgumentException: \"{e.Message}\"");
        return;
    }
    throw new InvalidOperationException("gate_nu accepted batch = -1");
}

static void TrainsPepNetFromThePackage()
{
    var dir = Directory.CreateTempSubdirectory("dynrec-consumer-").FullName;
    try
    {
        var options = new LoadOptions
        {
            SyntheticDirectory = Path.Combine(dir, "synthetic"),
            Synthetic = new SyntheticConfig { Seed = 5, Users = 80, Videos = 60, Days = 5, Rows = 4000 },
        };
        CpuThreads.Apply(0);  // LibTorch + libdynrec threads within the CPU quota
        var data = DataSource.Load("synthetic", options);
        var config = RunConfig.Load("pepnet", null, ["train.epochs=2", "train.validation_days=1", "train.batch_size=256"]);
        torch.random.manual_seed(config.Train.Seed);  // initial weights, as `dynrec train` seeds them
        using var model = ModelFactory.Create(config.ModelName, data.Schema, config.Model, Kernels.Native);
        using var optimizer = Trainer.CreateOptimizer(model, config.Train);
        var store = new CheckpointStore(Path.Combine(dir, "run", "checkpoints"));
        var result = new Trainer(model, config, optimizer, torch.CPU).Fit(data.Train, data.Test, store);
        var auc = result.TestMetrics!["auc_is_click"];
        var probabilities = Evaluator.Predict(model, data.Test, 8192, torch.CPU);
        Check(auc is > 0.5 and <= 1.0 && probabilities.Rows == data.Test.Rows,
            $"PEPNet trained from the packages with the shipped configs: test auc_is_click {auc:F4}, {probabilities.Rows} rows scored");
    }
    finally
    {
        Directory.Delete(dir, recursive: true);
    }
}
