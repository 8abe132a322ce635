using static TorchSharp.torch;

namespace DynRec.Tests;

/// <summary>
/// Base of the namespace set-up fixtures whose tests run tiny tensors: one
/// LibTorch intra-op thread is far faster than a thread pool on a shared
/// 2-core machine (500 PEPNet steps: 33 s -> 2 s measured under load).
/// Restored afterwards.
/// </summary>
public abstract class OneIntraOpThread
{
    private int _threads;

    [OneTimeSetUp]
    public void OneThread()
    {
        _threads = get_num_threads();
        set_num_threads(1);
    }

    [OneTimeTearDown]
    public void Restore() => set_num_threads(_threads);
}
