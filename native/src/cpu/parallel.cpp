#include "cpu/parallel.h"

#include <atomic>
#include <cstdlib>

#include "common/cpu_quota.h"

namespace dynrec::cpu {

namespace {
std::atomic<int> g_threads{0};  // 0 = the default

// A cgroup CPU quota caps OpenMP's default, unless OMP_NUM_THREADS names a
// count (then the user's choice stands). Read once: the files do not change
// under a running process in practice, and this sits on every parallel call.
int quota_cap() noexcept {
    static const int cap = [] {
        const char* env = std::getenv("OMP_NUM_THREADS");
        return env != nullptr && *env != '\0' ? 0 : cgroup_cpu_limit();
    }();
    return cap;
}
}  // namespace

int max_threads() noexcept {
    const int n = g_threads.load(std::memory_order_relaxed);
#ifdef _OPENMP
    if (n > 0) return n;
    const int omp = omp_get_max_threads(), cap = quota_cap();
    return cap > 0 && cap < omp ? cap : omp;
#else
    (void)n;
    (void)quota_cap;
    return 1;
#endif
}

void set_threads(int n) noexcept { g_threads.store(n > 0 ? n : 0, std::memory_order_relaxed); }

}  // namespace dynrec::cpu
