// Emulated CUDA runtime API: the subset DynRec calls, on the CPU.
// Device memory is host memory handed out by cudaMalloc and registered so
// cudaPointerGetAttributes tells device from host pointers (and which of the
// emulated devices owns it). Everything is synchronous: a launch or copy has
// finished when the call returns. Error codes carry the real runtime's values.
// Stream capture records a capturing stream's work instead of running it; a
// CUDA graph replays the recorded work in order (see src/runtime.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDeviceFunction = 98,
    cudaErrorInvalidDevicePointer = 17,
    cudaErrorInvalidMemcpyDirection = 21,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorIllegalState = 401,
    cudaErrorNotSupported = 801,
    cudaErrorStreamCaptureUnsupported = 900,
    cudaErrorStreamCaptureInvalidated = 901,
    cudaErrorStreamCaptureUnmatched = 903,
    cudaErrorStreamCaptureImplicit = 906,
    cudaErrorStreamCaptureWrongThread = 908,
};
typedef enum cudaError cudaError_t;

enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};

enum cudaMemoryType {
    cudaMemoryTypeUnregistered = 0,
    cudaMemoryTypeHost = 1,
    cudaMemoryTypeDevice = 2,
    cudaMemoryTypeManaged = 3,
};

struct cudaPointerAttributes {
    enum cudaMemoryType type;
    int device;
    void* devicePointer;
    void* hostPointer;
};

enum cudaDeviceAttr {
    cudaDevAttrMaxThreadsPerBlock = 1,
    cudaDevAttrMaxSharedMemoryPerBlock = 8,
    cudaDevAttrWarpSize = 10,
    cudaDevAttrMultiProcessorCount = 16,
    cudaDevAttrComputeCapabilityMajor = 75,
    cudaDevAttrComputeCapabilityMinor = 76,
    cudaDevAttrMaxSharedMemoryPerBlockOptin = 97,
};

enum cudaFuncAttribute {
    cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
};

struct CUstream_st;
typedef struct CUstream_st* cudaStream_t;

// cudaStreamCreateWithFlags: a blocking stream (cudaStreamCreate's kind)
// synchronizes with the legacy NULL stream; a non-blocking one does not.
#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01

enum cudaStreamCaptureMode {
    cudaStreamCaptureModeGlobal = 0,
    cudaStreamCaptureModeThreadLocal = 1,
    cudaStreamCaptureModeRelaxed = 2,
};

enum cudaStreamCaptureStatus {
    cudaStreamCaptureStatusNone = 0,
    cudaStreamCaptureStatusActive = 1,
    cudaStreamCaptureStatusInvalidated = 2,
};

enum cudaGraphInstantiateFlags {
    cudaGraphInstantiateFlagAutoFreeOnLaunch = 1,
    cudaGraphInstantiateFlagUpload = 2,
    cudaGraphInstantiateFlagDeviceLaunch = 4,
    cudaGraphInstantiateFlagUseNodePriority = 8,
};

struct CUgraph_st;
typedef struct CUgraph_st* cudaGraph_t;
struct CUgraphExec_st;
typedef struct CUgraphExec_st* cudaGraphExec_t;

struct uint3 {
    unsigned int x, y, z;
};

struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
    constexpr operator uint3() const { return uint3{x, y, z}; }
};

cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaDeviceGetAttribute(int* value, enum cudaDeviceAttr attr, int device);
// Only MaxDynamicSharedMemorySize (up to the opt-in limit, 227 KB); recorded for the current device.
cudaError_t cudaFuncSetAttribute(const void* func, enum cudaFuncAttribute attr, int value);
#ifdef __cplusplus
template <class T>
cudaError_t cudaFuncSetAttribute(T* entry, enum cudaFuncAttribute attr, int value) {
    return cudaFuncSetAttribute(reinterpret_cast<const void*>(entry), attr, value);
}
#endif
cudaError_t cudaDeviceSynchronize();

cudaError_t cudaMalloc(void** ptr, size_t bytes);
cudaError_t cudaFree(void* ptr);
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* ptr);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, enum cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, enum cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* dst, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream = nullptr);

cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);

// Stream capture and graphs. cudaGraphInstantiate is left out on purpose: its
// signature differs between CUDA 11 and 12; cudaGraphInstantiateWithFlags is
// the same in both.
cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph);
cudaError_t cudaStreamIsCapturing(cudaStream_t stream, enum cudaStreamCaptureStatus* status);
cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);

cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char* cudaGetErrorName(cudaError_t error);
const char* cudaGetErrorString(cudaError_t error);

template <class T>
inline cudaError_t cudaMalloc(T** ptr, size_t bytes) {
    return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}

// Emulator hooks shared by the fake cuBLAS / CUB / kernel launches.
namespace emu {
// Ordinal of the emulated device whose allocation holds [ptr, ptr + bytes), or -1
// (host memory, freed memory, or a range running past the allocation's end).
int device_of_range(const void* ptr, size_t bytes);
// Prints "cuda_emu: <message>" and aborts: misuse a real GPU would punish with
// a fault, a hang or silently wrong results.
[[noreturn]] void fatal(const char* format, ...) __attribute__((format(printf, 1, 2)));
// Records `error` as the thread's last error (cudaGetLastError) and returns it.
cudaError_t set_error(cudaError_t error);
// The device `stream` belongs to (NULL: the current device); fatal for an unknown stream.
int stream_device(cudaStream_t stream);

// Stream capture, for every stream-ordered operation (kernel launch, async
// copy / memset, cuBLAS, CUB). Before doing the work, ask issue():
//   Run      execute it now (the stream is not capturing);
//   Capture  the stream is capturing: check the arguments as the real call
//            would, then hand record() a closure that does the work;
//   Refused  the work must not happen: *error says why (already the thread's
//            last error): the stream's capture was invalidated earlier, or the
//            legacy NULL stream was used while a blocking stream of its device
//            captures (cudaErrorStreamCaptureImplicit; that capture is
//            invalidated).
// A recorded closure runs once per graph launch, with the stream the graph is
// launched into and that stream's device current. It holds everything by
// value (pointers, sizes, scalars as they were at the call) and reads and
// writes memory only when it runs; checks that depend on memory still being
// allocated belong in it (and are fatal there: a GPU would fault).
enum class Issue { Run, Capture, Refused };
using StreamOp = std::function<void(cudaStream_t)>;
Issue issue(cudaStream_t stream, const char* what, cudaError_t* error);
void record(cudaStream_t stream, const char* what, StreamOp op);
// An argument error in work issued to the capturing `stream`: prints why,
// invalidates the capture (cudaStreamEndCapture then fails) and returns
// `error` as the thread's last error.
cudaError_t capture_error(cudaStream_t stream, cudaError_t error, const char* what, const char* why);
// TF32 as the hardware's cvt.rna.tf32.f32: keep 10 mantissa bits, round to
// nearest with ties away from zero (NaN and infinities pass through).
inline float round_to_tf32(float value) {
    uint32_t u;
    std::memcpy(&u, &value, sizeof u);
    if ((u & 0x7f800000u) != 0x7f800000u) {  // finite: add half of the 13 dropped bits to the magnitude
        u += 0x1000u;
        u &= 0xffffe000u;
    }
    std::memcpy(&value, &u, sizeof u);
    return value;
}
}  // namespace emu
