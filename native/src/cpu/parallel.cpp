#include "cpu/parallel.h"

#include <atomic>

namespace dynrec::cpu {

namespace {
std::atomic<int> g_threads{0};  // 0 = OpenMP default
}

int max_threads() noexcept {
    const int n = g_threads.load(std::memory_order_relaxed);
#ifdef _OPENMP
    return n > 0 ? n : omp_get_max_threads();
#else
    (void)n;
    return 1;
#endif
}

void set_threads(int n) noexcept { g_threads.store(n > 0 ? n : 0, std::memory_order_relaxed); }

}  // namespace dynrec::cpu
