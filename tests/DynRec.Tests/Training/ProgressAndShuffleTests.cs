using DynRec.Training;

namespace DynRec.Tests.Training;

public class ProgressAndShuffleTests
{
    [Test]
    public void PlainProgressPrintsAtMostOneLinePerIntervalPlusTheLastStep()
    {
        var output = new StringWriter();
        var progress = new PlainTextProgress(output, TimeSpan.FromHours(1));
        progress.EpochStarted(1, 2, steps: 100, rows: 1000);
        var lossReads = 0;
        for (var s = 1; s <= 100; s++) progress.StepCompleted(s, s * 10, () => { lossReads++; return 0.5; });
        progress.EpochCompleted(new EpochRecord(1, 100, 0.5, 0.6, null, 1.0));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(3), output.ToString()); // start, last step (the interval never elapsed), summary
        Assert.That(lines[1], Does.StartWith("epoch 1/2 step 100/100 loss 0.50000").And.Contain("samples/s eta"));
        Assert.That(lines[2], Does.StartWith("epoch 1 done"));
        Assert.That(lossReads, Is.EqualTo(1), "the loss (a device sync) is read only for printed lines");

        var everyStep = new StringWriter();
        var chatty = new PlainTextProgress(everyStep, TimeSpan.Zero);
        chatty.EpochStarted(1, 1, steps: 3, rows: 30);
        for (var s = 1; s <= 3; s++) chatty.StepCompleted(s, s * 10, () => 0.25);
        Assert.That(everyStep.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(4));
    }

    [Test]
    public void EpochOrderIsASeededPermutationThatChangesPerEpoch()
    {
        var a = EpochPermutation.Create(7, 1, 1000, shuffle: true);
        Assert.That(a.Order(), Is.EqualTo(Enumerable.Range(0, 1000)));
        Assert.That(EpochPermutation.Create(7, 1, 1000, shuffle: true), Is.EqualTo(a));
        Assert.That(EpochPermutation.Create(7, 2, 1000, shuffle: true), Is.Not.EqualTo(a));
        Assert.That(EpochPermutation.Create(8, 1, 1000, shuffle: true), Is.Not.EqualTo(a));
        Assert.That(EpochPermutation.Create(7, 1, 5, shuffle: false), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
    }
}
