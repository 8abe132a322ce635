using System.Runtime.InteropServices;
using DynRec.Interop;
using NativeDevice = DynRec.Interop.Device;
using TorchSharp;
using static TorchSharp.torch;

namespace DynRec.Ops;

/// <summary>
/// Turns TorchSharp tensors into the raw float pointers the C ABI takes, after
/// checking what the native side assumes: float32, contiguous, one device.
/// </summary>
internal static unsafe class TensorPointers
{
    // LibTorchSharp's own accessor: tensor.data_ptr() (storage offset included),
    // one native call and no managed allocation per pointer.
    [DllImport("LibTorchSharp", EntryPoint = "THSTensor_data")]
    private static extern IntPtr THSTensor_data(IntPtr handle);

    private static bool _fastPath = true;

    static TensorPointers()
    {
        // Resolve "LibTorchSharp" exactly as TorchSharp itself did (it is loaded by now).
        NativeLibrary.SetDllImportResolver(typeof(TensorPointers).Assembly, (name, _, path) =>
            name == "LibTorchSharp" && NativeLibrary.TryLoad(name, typeof(torch).Assembly, path, out var h) ? h : IntPtr.Zero);
    }

    public static float* Ptr(Tensor t, string name)
    {
        Check(t, name);
        return (float*)DataPointer(t);
    }

    /// <summary>Pointer or null for an optional tensor.</summary>
    public static float* PtrOrNull(Tensor? t, string name) => t is null ? null : Ptr(t, name);

    public static void Check(Tensor t, string name)
    {
        if (t.dtype != ScalarType.Float32)
            throw new ArgumentException($"{name}: native kernels take float32 tensors, got {t.dtype}", name);
        if (!t.is_contiguous())
            throw new ArgumentException($"{name}: native kernels take contiguous tensors (call .contiguous())", name);
    }

    /// <summary>The C ABI device code of a tensor (CPU = 0, CUDA = 1).</summary>
    public static int DeviceOf(Tensor t) => t.device_type switch
    {
        DeviceType.CPU => (int)NativeDevice.Cpu,
        DeviceType.CUDA => (int)NativeDevice.Cuda,
        var other => throw new ArgumentException($"native kernels run on CPU or CUDA tensors, not {other}"),
    };

    /// <summary>Checks that every tensor lives on the same device as the first and returns its code.</summary>
    public static int CommonDevice(params Tensor?[] tensors)
    {
        Tensor? first = null;
        foreach (var t in tensors)
        {
            if (t is null) continue;
            if (first is null) first = t;
            else if (t.device_type != first.device_type || t.device_index != first.device_index)
                throw new ArgumentException($"tensors on different devices: {first.device} and {t.device}");
        }
        return first is null ? (int)NativeDevice.Cpu : DeviceOf(first);
    }

    private static IntPtr DataPointer(Tensor t)
    {
        if (_fastPath)
        {
            try
            {
                return THSTensor_data(t.Handle);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                _fastPath = false;
            }
        }
        using var storage = t.storage<float>();
        return storage.data_ptr() + (nint)(t.storage_offset() * sizeof(float));
    }
}
