using DynRec.Metrics;

namespace DynRec.Tests.Metrics;

public class LogLossTests
{
    [Test]
    public void MatchesHandComputedValue()
    {
        var expected = -(Math.Log(0.9) + Math.Log(1 - 0.2) + Math.Log(0.6)) / 3;
        Assert.That(LogLoss.Compute([0.9f, 0.2f, 0.6f], [1, 0, 1]), Is.EqualTo(expected).Within(1e-7));
    }

    [Test]
    public void ClipsCertainMistakes()
    {
        Assert.That(LogLoss.Compute([0f], [1]), Is.EqualTo(-Math.Log(LogLoss.Epsilon)).Within(1e-9));
        Assert.That(LogLoss.Compute([1f], [0]), Is.EqualTo(-Math.Log(LogLoss.Epsilon)).Within(1e-6));
        Assert.That(double.IsFinite(LogLoss.Compute([1f, 0f], [0, 1])), Is.True);
    }
}
