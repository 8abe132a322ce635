// What the CUDA runtime can tell the validation layer. On a CPU-only build
// these answer "no CUDA" without linking the CUDA runtime.
#pragma once

namespace dynrec {

bool cuda_compiled() noexcept;
int cuda_device_count() noexcept;           // 0 when unavailable; cached after first call
bool cuda_is_device_pointer(const void* ptr) noexcept;  // device or managed memory
int cuda_pointer_device(const void* ptr) noexcept;      // ordinal owning device/managed memory; -1 for host memory
int cuda_current_device() noexcept;                     // -1 when unavailable
bool cuda_select_device(int ordinal) noexcept;          // cudaSetDevice; false on failure
const char* cuda_arch_list() noexcept;      // e.g. "80;90", "" without CUDA

}  // namespace dynrec
