#include "common/math_mode.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace dynrec {

namespace {
bool tf32_from_environment() noexcept {
    const char* v = std::getenv("DYNREC_CUDA_TF32");
    return !(v && (std::strcmp(v, "0") == 0 || std::strcmp(v, "off") == 0 || std::strcmp(v, "false") == 0));
}

std::atomic<bool> g_tf32{tf32_from_environment()};
thread_local int t_override = -1;  // -1: none, 0/1: forced for this thread
}  // namespace

bool cuda_tf32_enabled() noexcept {
    return t_override >= 0 ? t_override == 1 : g_tf32.load(std::memory_order_relaxed);
}

void set_cuda_tf32(bool enabled) noexcept { g_tf32.store(enabled, std::memory_order_relaxed); }

ScopedTf32Override::ScopedTf32Override(bool enabled) noexcept : previous_(t_override) {
    t_override = enabled ? 1 : 0;
}

ScopedTf32Override::~ScopedTf32Override() { t_override = previous_; }

}  // namespace dynrec
