// Emulated CUDA runtime API: the subset DynRec calls, on the CPU.
// Device memory is host memory handed out by cudaMalloc and registered so
// cudaPointerGetAttributes tells device from host pointers (and which of the
// emulated devices owns it). Everything is synchronous: a launch or copy has
// finished when the call returns. Error codes carry the real runtime's values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevicePointer = 17,
    cudaErrorInvalidMemcpyDirection = 21,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorNotSupported = 801,
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
};

struct CUstream_st;
typedef struct CUstream_st* cudaStream_t;

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
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);

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
