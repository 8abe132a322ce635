// Device buffers for the self-test (not a hot path: plain cudaMalloc and
// synchronous copies are fine here). On a CPU-only build the CUDA calls
// report DYNREC_ERR_UNSUPPORTED.
#pragma once

#include <cstdint>

namespace dynrec::selftest {

void* cuda_alloc(int64_t bytes);
void cuda_free(void* ptr) noexcept;
void cuda_fill_bytes(void* ptr, int value, int64_t bytes);
void cuda_upload(void* dst, const void* src, int64_t bytes);
void cuda_download(void* dst, const void* src, int64_t bytes);
// Waits for the device and turns an asynchronous kernel fault into an error.
void cuda_synchronize(const char* after);

}  // namespace dynrec::selftest
