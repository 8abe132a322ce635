// CPU-only build: no CUDA runtime.
#include "common/cuda_runtime_probe.h"

namespace dynrec {

bool cuda_compiled() noexcept { return false; }
int cuda_device_count() noexcept { return 0; }
bool cuda_is_device_pointer(const void*) noexcept { return false; }
int cuda_pointer_device(const void*) noexcept { return -1; }
int cuda_current_device() noexcept { return -1; }
bool cuda_select_device(int) noexcept { return false; }
const char* cuda_arch_list() noexcept { return ""; }

}  // namespace dynrec
