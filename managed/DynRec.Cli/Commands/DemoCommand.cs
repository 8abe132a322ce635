using System.CommandLine;
using DynRec.Layers;
using DynRec.Ops;
using static TorchSharp.torch;

namespace DynRec.Cli.Commands;

/// <summary>
/// `dynrec demo`: trains a tiny GateNU-gated model on generated data whose
/// label depends on a scenario-specific gate, printing the loss as it falls.
/// A smoke test of the whole stack (native op inside TorchSharp autograd).
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var steps = new Option<int>("--steps") { Description = "Training steps", DefaultValueFactory = _ => 300 };
        var kernels = new Option<Kernels>("--kernels") { Description = "native or reference", DefaultValueFactory = _ => Kernels.Native };
        var cmd = new Command("demo", "Train a tiny GateNU-gated model on generated data and print the loss") { steps, kernels };
        cmd.SetAction(pr => Run(pr.GetValue(steps), pr.GetValue(kernels)));
        return cmd;
    }

    private static int Run(int steps, Kernels kernels)
    {
        if (steps <= 0) throw new UserException($"--steps must be > 0, got {steps}");
        manual_seed(1);
        const int nIn = 16, nScenario = 4, batch = 256;
        var gate = new GateNU(nScenario + nIn, 32, nIn, kernels: kernels);
        var head = nn.Linear(nIn, 1);
        var scenarioEffect = randn(nScenario, nIn) * 2;  // planted: each scenario re-weights features
        var truth = randn(nIn);
        var parameters = gate.parameters().Concat(head.parameters());
        var opt = optim.Adam(parameters, lr: 1e-2);
        for (var step = 1; step <= steps; step++)
        {
            using var scope = NewDisposeScope();
            var x = randn(batch, nIn);
            var s = randint(0, nScenario, batch);
            var sOneHot = nn.functional.one_hot(s, nScenario).to(ScalarType.Float32);
            var logits = (x * sigmoid(scenarioEffect[s]) * 2) .matmul(truth);
            var y = bernoulli(sigmoid(logits));
            var delta = gate.forward(cat(new[] { sOneHot, x }, 1));
            var pred = head.forward(x * delta).squeeze(1);
            var loss = nn.functional.binary_cross_entropy_with_logits(pred, y);
            opt.zero_grad();
            loss.backward();
            opt.step();
            if (step == 1 || step % 50 == 0 || step == steps)
                Console.WriteLine($"step {step,5}  loss {loss.item<float>():F4}");
        }
        return 0;
    }
}
