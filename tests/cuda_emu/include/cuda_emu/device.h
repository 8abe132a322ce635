// Force-included into every emulated .cu file: CUDA's device-side language
// as plain C++. Kernels are ordinary functions; each emulated thread runs the
// kernel body on its own fiber (see src/scheduler.cpp), so threadIdx and
// friends are globals the scheduler sets before it resumes a thread.
// Launches `k<<<g, b, smem, s>>>(args)` are rewritten by rewrite_cuda.py into
// emu::launch(...) calls; `__shared__` declarations into statics that are
// refilled with 0xFF bytes (NaN) at the start of every block.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// Device code paths (#if __CUDA_ARCH__ >= 800 ...) are compiled for the
// reported compute capability 9.0.
#ifndef __CUDA_ARCH__
#define __CUDA_ARCH__ 900
#endif

extern uint3 threadIdx;
extern uint3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;
constexpr int warpSize = 32;

namespace emu {

struct Site {
    const char* kernel;
    const char* file;
    int line;
};

struct LaunchConfig {
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
};

inline LaunchConfig config(dim3 grid, dim3 block, size_t smem = 0, cudaStream_t stream = nullptr) {
    return {grid, block, smem, stream};
}

namespace detail {

struct KernelArg {
    const void* ptr;
    bool is_pointer;
};

template <class T>
KernelArg kernel_arg(const T& v) {
    if constexpr (std::is_pointer_v<T> && !std::is_function_v<std::remove_pointer_t<T>>)
        return {static_cast<const void*>(v), true};
    else
        return {nullptr, false};
}

// Runs the grid: every block, every thread calls body(ctx). Pointer arguments
// must be device memory of the launching device (a host pointer would fault).
void run_grid(const Site& site, const LaunchConfig& cfg, void (*body)(void*), void* ctx, const KernelArg* args,
              size_t n_args);

void syncthreads(const char* file, int line);

// One warp collective: every live lane named in `mask` contributes `value`;
// when the last one arrives, `complete` (if any) runs on the 32 values before
// anyone continues. Returns the generation's values (lanes that did not take
// part read as all-ones bytes) and the mask of lanes that took part.
struct WarpResult {
    const uint64_t* values;
    unsigned participants;
};
using WarpComplete = void (*)(const uint64_t* values, unsigned participants);
WarpResult warp_collective(const char* what, unsigned mask, uint64_t value, WarpComplete complete = nullptr);

int lane_id();
unsigned live_lanes();  // lanes of the caller's warp that have not exited

// A `__shared__` variable at `ptr` is reached: on the block's first visit its
// bytes become 0xFF (NaN floats), so reads of never-written shared memory show.
void shared_fresh(void* ptr, size_t bytes, const char* name);
void* dynamic_shared();

template <class T>
uint64_t to_bits(const T& v) {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "warp exchange of a value over 8 bytes");
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    return bits;
}

template <class T>
T from_bits(uint64_t bits) {
    T v;
    std::memcpy(&v, &bits, sizeof(T));
    return v;
}

// Lane `src`'s value (all-ones bytes if that lane did not take part: undefined on a GPU).
template <class T>
T shuffle_from(const WarpResult& r, int src, const T&) {
    return from_bits<T>(r.values[src]);
}

}  // namespace detail

namespace detail {

// How a launch proceeds (see emu::issue): on a capturing stream the launch
// configuration is checked now (an error invalidates the capture).
Issue launch_issue(const Site& site, const LaunchConfig& cfg);

template <class Body, class Params>
void run_launch(const Site& site, const LaunchConfig& cfg, const Body& body, const Params& params) {
    KernelArg info[std::tuple_size_v<Params> + 1] = {};
    std::apply(
        [&](const auto&... p) {
            size_t i = 0;
            ((info[i++] = kernel_arg(p)), ...);
        },
        params);
    auto run = [&] { std::apply(body, params); };
    run_grid(
        site, cfg, [](void* p) { (*static_cast<decltype(run)*>(p))(); }, &run, info, std::tuple_size_v<Params>);
}

}  // namespace detail

template <class Body, class... Args>
void launch(const Site& site, const LaunchConfig& cfg, Body body, Args&&... args) {
    // The parameter buffer: arguments are evaluated once, on the host; every
    // thread's kernel call copies them into its own parameters.
    std::tuple<std::decay_t<Args>...> params(std::forward<Args>(args)...);
    switch (detail::launch_issue(site, cfg)) {
        case Issue::Refused: return;
        case Issue::Capture:
            // The graph keeps its own copy of the parameter buffer, site and
            // configuration; the kernel runs on the stream the graph is launched into.
            record(cfg.stream, site.kernel, [site, cfg, body, params](cudaStream_t stream) {
                LaunchConfig replay_cfg = cfg;
                replay_cfg.stream = stream;
                detail::run_launch(site, replay_cfg, body, params);
            });
            return;
        case Issue::Run: break;
    }
    detail::run_launch(site, cfg, body, params);
}

}  // namespace emu

#define __syncthreads() ::emu::detail::syncthreads(__FILE__, __LINE__)

inline void __syncwarp(unsigned mask = 0xffffffffu) { ::emu::detail::warp_collective("__syncwarp", mask, 0); }

template <class T>
T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize) {
    const auto r = ::emu::detail::warp_collective("__shfl_sync", mask, ::emu::detail::to_bits(var));
    const int lane = ::emu::detail::lane_id();
    return ::emu::detail::shuffle_from(r, (lane & ~(width - 1)) + (src_lane & (width - 1)), var);
}

template <class T>
T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize) {
    const auto r = ::emu::detail::warp_collective("__shfl_xor_sync", mask, ::emu::detail::to_bits(var));
    const int lane = ::emu::detail::lane_id(), src = lane ^ lane_mask;
    if ((src & ~(width - 1)) != (lane & ~(width - 1))) return var;  // outside the segment: own value
    return ::emu::detail::shuffle_from(r, src, var);
}

template <class T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
    const auto r = ::emu::detail::warp_collective("__shfl_down_sync", mask, ::emu::detail::to_bits(var));
    const int lane = ::emu::detail::lane_id();
    if ((lane & (width - 1)) + int(delta) >= width) return var;
    return ::emu::detail::shuffle_from(r, lane + int(delta), var);
}

template <class T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
    const auto r = ::emu::detail::warp_collective("__shfl_up_sync", mask, ::emu::detail::to_bits(var));
    const int lane = ::emu::detail::lane_id();
    if ((lane & (width - 1)) < int(delta)) return var;
    return ::emu::detail::shuffle_from(r, lane - int(delta), var);
}

inline unsigned __ballot_sync(unsigned mask, int predicate) {
    const auto r = ::emu::detail::warp_collective("__ballot_sync", mask, predicate != 0);
    unsigned bits = 0;
    for (int l = 0; l < 32; ++l)
        if ((r.participants >> l & 1u) && r.values[l]) bits |= 1u << l;
    return bits;
}
inline int __any_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) != 0; }
inline int __all_sync(unsigned mask, int predicate) {
    const auto r = ::emu::detail::warp_collective("__all_sync", mask, predicate != 0);
    for (int l = 0; l < 32; ++l)
        if ((r.participants >> l & 1u) && !r.values[l]) return 0;
    return 1;
}
// Which lanes run convergently is not modelled: the warp's live lanes.
inline unsigned __activemask() { return ::emu::detail::live_lanes(); }

// Atomics: fibers switch only at barriers and warp collectives, so a plain
// read-modify-write is atomic here.
template <class T, class U>
T atomicAdd(T* p, U v) {
    const T old = *p;
    *p = old + T(v);
    return old;
}
template <class T, class U>
T atomicSub(T* p, U v) {
    const T old = *p;
    *p = old - T(v);
    return old;
}
template <class T, class U>
T atomicExch(T* p, U v) {
    const T old = *p;
    *p = T(v);
    return old;
}
template <class T, class U>
T atomicMin(T* p, U v) {
    const T old = *p;
    if (T(v) < old) *p = T(v);
    return old;
}
template <class T, class U>
T atomicMax(T* p, U v) {
    const T old = *p;
    if (old < T(v)) *p = T(v);
    return old;
}
template <class T, class U, class V>
T atomicCAS(T* p, U compare, V v) {
    const T old = *p;
    if (old == T(compare)) *p = T(v);
    return old;
}
template <class T, class U>
T atomicAnd(T* p, U v) {
    const T old = *p;
    *p = old & T(v);
    return old;
}
template <class T, class U>
T atomicOr(T* p, U v) {
    const T old = *p;
    *p = old | T(v);
    return old;
}

// Intrinsics: the exact libm function where the hardware's is approximate.
template <class T>
inline T __ldg(const T* p) {
    return *p;
}
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
