#include "selftest/device_memory.h"

#include <string>

#include "common/error.h"

#if DYNREC_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace dynrec::selftest {

#if DYNREC_WITH_CUDA
namespace {
void check(cudaError_t err, const char* what) {
    if (err == cudaSuccess) return;
    cudaGetLastError();
    throw Error(err == cudaErrorMemoryAllocation ? DYNREC_ERR_OUT_OF_MEMORY : DYNREC_ERR_CUDA,
                std::string(what) + ": " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
}
}  // namespace

void* cuda_alloc(int64_t bytes) {
    void* p = nullptr;
    check(cudaMalloc(&p, static_cast<size_t>(bytes > 0 ? bytes : 4)), "cudaMalloc");
    return p;
}
void cuda_free(void* ptr) noexcept {
    if (ptr) cudaFree(ptr);
}
void cuda_fill_bytes(void* ptr, int value, int64_t bytes) {
    check(cudaMemset(ptr, value, static_cast<size_t>(bytes)), "cudaMemset");
}
void cuda_upload(void* dst, const void* src, int64_t bytes) {
    check(cudaMemcpy(dst, src, static_cast<size_t>(bytes), cudaMemcpyHostToDevice), "cudaMemcpy H2D");
}
void cuda_download(void* dst, const void* src, int64_t bytes) {
    check(cudaMemcpy(dst, src, static_cast<size_t>(bytes), cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
}
void cuda_synchronize(const char* after) { check(cudaDeviceSynchronize(), after); }
#else
namespace {
[[noreturn]] void no_cuda() { throw_unsupported("this libdynrec was built without CUDA"); }
}  // namespace
void* cuda_alloc(int64_t) { no_cuda(); }
void cuda_free(void*) noexcept {}
void cuda_fill_bytes(void*, int, int64_t) { no_cuda(); }
void cuda_upload(void*, const void*, int64_t) { no_cuda(); }
void cuda_download(void*, const void*, int64_t) { no_cuda(); }
void cuda_synchronize(const char*) { no_cuda(); }
#endif

}  // namespace dynrec::selftest
