namespace DynRec.Tests.Checkpoints;

/// <summary>One LibTorch intra-op thread for the tests of this namespace (see <see cref="OneIntraOpThread"/>).</summary>
[SetUpFixture]
public class OneThreadSetUp : OneIntraOpThread;
