// CUDA build: ask the runtime. Compiled as C++ against cuda_runtime.h.
#include <cuda_runtime.h>

#include <mutex>

#include "common/cuda_runtime_probe.h"

#ifndef DYNREC_CUDA_ARCHS
#define DYNREC_CUDA_ARCHS ""
#endif

namespace dynrec {

bool cuda_compiled() noexcept { return true; }

int cuda_device_count() noexcept {
    static std::once_flag once;
    static int count = 0;
    std::call_once(once, [] {
        int n = 0;
        if (cudaGetDeviceCount(&n) != cudaSuccess) {
            cudaGetLastError();  // clear the sticky-free error so later calls start clean
            n = 0;
        }
        count = n;
    });
    return count;
}

int cuda_pointer_device(const void* ptr) noexcept {
    cudaPointerAttributes attr{};
    if (cudaPointerGetAttributes(&attr, ptr) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    const bool on_device = attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged;
    return on_device ? attr.device : -1;
}

bool cuda_is_device_pointer(const void* ptr) noexcept { return cuda_pointer_device(ptr) >= 0; }

int cuda_current_device() noexcept {
    int device = -1;
    if (cudaGetDevice(&device) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    return device;
}

bool cuda_select_device(int ordinal) noexcept {
    if (cudaSetDevice(ordinal) != cudaSuccess) {
        cudaGetLastError();
        return false;
    }
    return true;
}

const char* cuda_arch_list() noexcept { return DYNREC_CUDA_ARCHS; }

}  // namespace dynrec
