// Emulated CUDA runtime: devices, memory, copies, streams, errors.
// cudaMalloc memory is host memory from posix_memalign (256-byte aligned like
// the real allocator, exact size so ASan guards its end), filled with 0xFF
// bytes (NaN floats) because device memory starts out as garbage, and
// registered with its device so pointer queries and range checks work.
// Misuse that the real runtime reports as an error returns that error (with a
// note on stderr saying why); misuse that would fault on a GPU is fatal.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "cuda_runtime.h"
#include "state.h"

namespace emu {

namespace {

struct Allocation {
    size_t bytes;
    int device;
};

std::mutex g_mutex;  // guards the allocation and stream registries
std::map<uintptr_t, Allocation> g_allocations;
std::set<const CUstream_st*> g_streams;
thread_local cudaError_t t_last_error = cudaSuccess;
thread_local int t_device = 0;

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
}

// The allocation containing [p, p + bytes) (bytes 0: p may be one past the end).
const std::pair<const uintptr_t, Allocation>* find(const void* ptr, size_t bytes) {
    const uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
    auto it = g_allocations.upper_bound(p);
    if (it == g_allocations.begin()) return nullptr;
    --it;
    const uintptr_t end = it->first + it->second.bytes;
    if (bytes == 0 ? p > end : (p >= end || bytes > end - p)) return nullptr;
    return &*it;
}

cudaError_t note(cudaError_t error, const char* what, const char* why) {
    std::fprintf(stderr, "cuda_emu: %s: %s\n", what, why);
    return set_error(error);
}

}  // namespace

int device_count() {
    static const int count = env_int("CUDA_EMU_DEVICES", 2);
    return count;
}
int current_device() { return t_device; }
int compute_capability() {
    static const int cc = env_int("CUDA_EMU_CC", 90);
    return cc;
}

int device_of_pointer(const void* ptr) {
    std::lock_guard<std::mutex> lock(g_mutex);
    const auto* a = find(ptr, 0);
    return a ? a->second.device : -1;
}

int device_of_range(const void* ptr, size_t bytes) {
    std::lock_guard<std::mutex> lock(g_mutex);
    const auto* a = find(ptr, bytes);
    return a ? a->second.device : -1;
}

cudaError_t set_error(cudaError_t error) {
    if (error != cudaSuccess) t_last_error = error;
    return error;
}

}  // namespace emu

// A stream remembers its device; NULL is the current device's legacy default stream.
struct CUstream_st {
    int device;
};

namespace emu {
int stream_device(cudaStream_t stream) {
    if (stream == nullptr) return current_device();
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!g_streams.count(stream)) fatal("stream %p was not created by cudaStreamCreate or is destroyed", (void*)stream);
    return stream->device;
}
}  // namespace emu

using emu::note;
using emu::set_error;

cudaError_t cudaGetDeviceCount(int* count) {
    if (!count) return set_error(cudaErrorInvalidValue);
    *count = emu::device_count();
    return *count > 0 ? cudaSuccess : set_error(cudaErrorNoDevice);
}

cudaError_t cudaSetDevice(int device) {
    if (device < 0 || device >= emu::device_count()) return set_error(cudaErrorInvalidDevice);
    emu::t_device = device;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
    if (!device) return set_error(cudaErrorInvalidValue);
    if (emu::device_count() == 0) return set_error(cudaErrorNoDevice);
    *device = emu::t_device;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, enum cudaDeviceAttr attr, int device) {
    if (!value) return set_error(cudaErrorInvalidValue);
    if (device < 0 || device >= emu::device_count()) return set_error(cudaErrorInvalidDevice);
    switch (attr) {
        case cudaDevAttrComputeCapabilityMajor: *value = emu::compute_capability() / 10; break;
        case cudaDevAttrComputeCapabilityMinor: *value = emu::compute_capability() % 10; break;
        case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
        case cudaDevAttrMaxSharedMemoryPerBlock: *value = 48 * 1024; break;
        case cudaDevAttrWarpSize: *value = 32; break;
        case cudaDevAttrMultiProcessorCount: *value = 132; break;
        default: return note(cudaErrorInvalidValue, "cudaDeviceGetAttribute", "attribute not emulated");
    }
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() { return emu::device_count() ? cudaSuccess : set_error(cudaErrorNoDevice); }

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
    if (!ptr) return set_error(cudaErrorInvalidValue);
    if (emu::device_count() == 0) return set_error(cudaErrorNoDevice);
    *ptr = nullptr;
    if (bytes == 0) return cudaSuccess;
    void* p = nullptr;
    if (posix_memalign(&p, 256, bytes) != 0) return set_error(cudaErrorMemoryAllocation);
    std::memset(p, 0xFF, bytes);
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    emu::g_allocations[reinterpret_cast<uintptr_t>(p)] = {bytes, emu::t_device};
    *ptr = p;
    return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
    if (!ptr) return cudaSuccess;
    {
        std::lock_guard<std::mutex> lock(emu::g_mutex);
        auto it = emu::g_allocations.find(reinterpret_cast<uintptr_t>(ptr));
        if (it == emu::g_allocations.end()) return note(cudaErrorInvalidValue, "cudaFree", "not a cudaMalloc pointer");
        emu::g_allocations.erase(it);
    }
    std::free(ptr);
    return cudaSuccess;
}

cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* ptr) {
    if (!attributes) return set_error(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    const auto* a = ptr ? emu::find(ptr, 1) : nullptr;
    if (a) {
        *attributes = {cudaMemoryTypeDevice, a->second.device, const_cast<void*>(ptr), nullptr};
    } else {
        *attributes = {cudaMemoryTypeUnregistered, -2, nullptr, const_cast<void*>(ptr)};
    }
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, enum cudaMemcpyKind kind) {
    if (bytes == 0) return cudaSuccess;
    if (!dst || !src) return note(cudaErrorInvalidValue, "cudaMemcpy", "NULL pointer");
    const bool dst_dev = emu::device_of_pointer(dst) >= 0, src_dev = emu::device_of_pointer(src) >= 0;
    const bool dst_fits = emu::device_of_range(dst, bytes) >= 0, src_fits = emu::device_of_range(src, bytes) >= 0;
    switch (kind) {
        case cudaMemcpyHostToDevice:
            if (!dst_fits || src_dev)
                return note(cudaErrorInvalidValue, "cudaMemcpy HostToDevice",
                            !dst_fits ? "destination is not a device range of that size" : "source is device memory");
            break;
        case cudaMemcpyDeviceToHost:
            if (!src_fits || dst_dev)
                return note(cudaErrorInvalidValue, "cudaMemcpy DeviceToHost",
                            !src_fits ? "source is not a device range of that size" : "destination is device memory");
            break;
        case cudaMemcpyDeviceToDevice:
            if (!src_fits || !dst_fits)
                return note(cudaErrorInvalidValue, "cudaMemcpy DeviceToDevice",
                            "source or destination is not a device range of that size");
            if (static_cast<const char*>(src) < static_cast<char*>(dst) + bytes &&
                static_cast<char*>(dst) < static_cast<const char*>(src) + bytes && src != dst)
                emu::fatal("cudaMemcpy DeviceToDevice: source and destination overlap (undefined on a GPU)");
            break;
        case cudaMemcpyHostToHost:
            if (src_dev || dst_dev) return note(cudaErrorInvalidValue, "cudaMemcpy HostToHost", "device pointer");
            break;
        case cudaMemcpyDefault:
            if ((dst_dev && !dst_fits) || (src_dev && !src_fits))
                return note(cudaErrorInvalidValue, "cudaMemcpy Default", "copy runs past a device allocation");
            break;
        default: return set_error(cudaErrorInvalidMemcpyDirection);
    }
    std::memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, enum cudaMemcpyKind kind, cudaStream_t stream) {
    emu::stream_device(stream);
    return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
    if (bytes == 0) return cudaSuccess;
    if (emu::device_of_range(dst, bytes) < 0)
        return note(cudaErrorInvalidValue, "cudaMemset", "not a device range of that size");
    std::memset(dst, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
    emu::stream_device(stream);
    return cudaMemset(dst, value, bytes);
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
    if (!stream) return set_error(cudaErrorInvalidValue);
    *stream = new CUstream_st{emu::t_device};
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    emu::g_streams.insert(*stream);
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
    {
        std::lock_guard<std::mutex> lock(emu::g_mutex);
        if (!stream || !emu::g_streams.erase(stream)) return set_error(cudaErrorInvalidResourceHandle);
    }
    delete stream;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
    emu::stream_device(stream);
    return cudaSuccess;
}

cudaError_t cudaGetLastError() {
    const cudaError_t e = emu::t_last_error;
    emu::t_last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError() { return emu::t_last_error; }

const char* cudaGetErrorName(cudaError_t error) {
    switch (error) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
        case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
        case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
        case cudaErrorNoDevice: return "cudaErrorNoDevice";
        case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
        case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
        case cudaErrorNotSupported: return "cudaErrorNotSupported";
    }
    return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
    switch (error) {
        case cudaSuccess: return "no error";
        case cudaErrorInvalidValue: return "invalid argument";
        case cudaErrorMemoryAllocation: return "out of memory";
        case cudaErrorInvalidConfiguration: return "invalid configuration argument";
        case cudaErrorInvalidDevicePointer: return "invalid device pointer";
        case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
        case cudaErrorNoDevice: return "no CUDA-capable device is detected";
        case cudaErrorInvalidDevice: return "invalid device ordinal";
        case cudaErrorInvalidResourceHandle: return "invalid resource handle";
        case cudaErrorNotSupported: return "operation not supported";
    }
    return "unknown error";
}

// Unmangled entry points for foreign callers (the benchmark script's
// --device cuda-emu mode reaches them through ctypes): emulated device memory
// on the calling thread's current device, 0 on success.
extern "C" int cuda_emu_malloc(void** ptr, size_t bytes) { return static_cast<int>(cudaMalloc(ptr, bytes)); }
extern "C" int cuda_emu_free(void* ptr) { return static_cast<int>(cudaFree(ptr)); }
