namespace DynRec.Interop;

/// <summary>
/// A native DynRec call failed. <see cref="Status"/> is the C status code and
/// <see cref="Exception.Message"/> the library's own message, which names the
/// offending argument.
/// </summary>
public class DynRecException : Exception
{
    public DynRecException(Status status, string message) : base(message) => Status = status;

    public Status Status { get; }
}

/// <summary>An argument was rejected by the native library (DYNREC_ERR_INVALID_ARGUMENT).</summary>
public sealed class DynRecArgumentException : DynRecException
{
    public DynRecArgumentException(string message) : base(Status.ErrInvalidArgument, message) { }
}

/// <summary>The requested operation is not supported by this build or device (DYNREC_ERR_UNSUPPORTED).</summary>
public sealed class DynRecUnsupportedException : DynRecException
{
    public DynRecUnsupportedException(string message) : base(Status.ErrUnsupported, message) { }
}

/// <summary>A CUDA runtime or cuBLAS call failed (DYNREC_ERR_CUDA).</summary>
public sealed class DynRecCudaException : DynRecException
{
    public DynRecCudaException(string message) : base(Status.ErrCuda, message) { }
}
