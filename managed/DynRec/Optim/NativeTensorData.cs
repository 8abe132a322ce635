using static TorchSharp.torch;

namespace DynRec.Optim;

/// <summary>Raw pointers of int64 tensors (ids, row step counters) for the C ABI.</summary>
internal static unsafe class NativeTensorData
{
    /// <summary>Data pointer of a contiguous int64 tensor (storage offset included).</summary>
    public static long* Int64Ptr(Tensor t, string name)
    {
        if (t.dtype != ScalarType.Int64)
            throw new ArgumentException($"{name}: native kernels take int64 tensors, got {t.dtype}", name);
        if (!t.is_contiguous())
            throw new ArgumentException($"{name}: native kernels take contiguous tensors (call .contiguous())", name);
        using var storage = t.storage<long>();
        return (long*)(storage.data_ptr() + (nint)(t.storage_offset() * sizeof(long)));
    }

    /// <summary>
    /// A scratch tensor of at least <paramref name="bytes"/> bytes on <paramref name="device"/>, reused when big enough.
    /// The cache outlives the caller's dispose scope (a training step's): it is detached from it, and one that a
    /// scope disposed anyway is replaced rather than touched (its handle is gone).
    /// </summary>
    public static Tensor? Workspace(ref Tensor? cache, long bytes, Device device)
    {
        if (bytes <= 0) return null;
        if (cache is null || cache.IsInvalid || cache.NumberOfElements * sizeof(float) < bytes ||
            cache.device_type != device.type || cache.device_index != device.index)
        {
            if (cache is { IsInvalid: false }) cache.Dispose();
            cache = empty((bytes + 3) / 4, dtype: ScalarType.Float32, device: device).DetachFromDisposeScope();
        }
        return cache;
    }
}
