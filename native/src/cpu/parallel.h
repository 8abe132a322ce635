// Thin OpenMP helpers so kernels state their split once. Without OpenMP
// everything runs on the calling thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace dynrec::cpu {

int max_threads() noexcept;
void set_threads(int n) noexcept;  // n <= 0: default

// Calls body(begin, end) on contiguous chunks of [begin, end) of at least
// `grain` items, one chunk per thread at most. Runs inline when the range
// is small or we are already inside a parallel region.
template <typename Body>
void parallel_for(int64_t begin, int64_t end, int64_t grain, Body&& body) {
    const int64_t n = end - begin;
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
#ifdef _OPENMP
    const int64_t chunks = std::min<int64_t>(max_threads(), (n + grain - 1) / grain);
    if (chunks > 1 && !omp_in_parallel()) {
#pragma omp parallel num_threads(static_cast<int>(chunks))
        {
            const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
            const int64_t lo = begin + n * t / nt, hi = begin + n * (t + 1) / nt;
            if (lo < hi) body(lo, hi);
        }
        return;
    }
#endif
    body(begin, end);
}

// Like parallel_for, but threads take pieces of `chunk` items from a shared
// counter as they finish, instead of one fixed share each: on a machine
// where a thread can be descheduled for a while (a VM with busy neighbours),
// the others carry on with the rest instead of waiting for its share. Only
// for work whose result does not depend on which thread runs which piece.
template <typename Body>
void parallel_for_dynamic(int64_t begin, int64_t end, int64_t chunk, Body&& body) {
    const int64_t n = end - begin;
    if (n <= 0) return;
    chunk = std::max<int64_t>(1, chunk);
#ifdef _OPENMP
    const int64_t pieces = (n + chunk - 1) / chunk;
    const int64_t threads = std::min<int64_t>(max_threads(), pieces);
    if (threads > 1 && !omp_in_parallel()) {
        std::atomic<int64_t> next{begin};
#pragma omp parallel num_threads(static_cast<int>(threads))
        for (;;) {
            const int64_t lo = next.fetch_add(chunk, std::memory_order_relaxed);
            if (lo >= end) break;
            body(lo, std::min(lo + chunk, end));
        }
        return;
    }
#endif
    body(begin, end);
}

}  // namespace dynrec::cpu
