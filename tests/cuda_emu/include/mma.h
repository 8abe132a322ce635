// Emulated nvcuda::wmma (float / TF32 fragments). Like the hardware, each
// lane holds 1/32 of a tile (num_elements = 4 for the 16x16x8 TF32 A and B
// fragments, 8 for the accumulator), so code that treats x[] elementwise
// behaves as on a GPU. Element e of lane l is tile entry e*32 + l (row-major);
// the hardware's own mapping is unspecified and code must not depend on it.
// load/store/fill touch only the calling lane's elements; mma_sync is a warp
// collective: the last lane to arrive multiplies the whole tile. The multiply
// uses the top 19 bits of each A/B element (what the tensor cores read) with
// FP32 accumulation. load/store check the documented 256-bit pointer
// alignment and the ldm multiple-of-4 rule.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cuda_emu/device.h"

namespace nvcuda::wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };
namespace precision {
struct tf32 {};
}  // namespace precision

namespace detail {
template <class Use, int M, int N, int K>
struct Shape;
template <int M, int N, int K>
struct Shape<matrix_a, M, N, K> {
    static constexpr int rows = M, cols = K;
};
template <int M, int N, int K>
struct Shape<matrix_b, M, N, K> {
    static constexpr int rows = K, cols = N;
};
template <int M, int N, int K>
struct Shape<accumulator, M, N, K> {
    static constexpr int rows = M, cols = N;
};

void check_pointer(const void* ptr, unsigned ldm, const char* what);
[[noreturn]] void partial_warp(unsigned participants);
// What the tensor cores read of a TF32 operand: sign, exponent, 10 mantissa bits.
inline float tf32_bits(float v) {
    uint32_t u;
    std::memcpy(&u, &v, sizeof u);
    u &= 0xffffe000u;
    std::memcpy(&v, &u, sizeof v);
    return v;
}

struct MmaArgs {
    const float* a;  // the lane's A elements (tile entry e*32 + lane, row-major M x K)
    const float* b;  // K x N
    const float* c;  // M x N
    float* d;        // M x N (may alias c)
};

// The warp collective behind mma_sync, run by the last lane to arrive
// (values: each lane's MmaArgs address). Sizes are template arguments so the
// multiply vectorizes: it is the emulator's hottest loop.
// Not instrumented: it only moves data between the lanes' own fragments.
template <int M, int N, int K>
__attribute__((no_sanitize("address", "undefined"))) void mma_complete(const uint64_t* values,
                                                                        unsigned participants) {
    if (participants != 0xffffffffu) partial_warp(participants);
    const MmaArgs* lane[32];
    for (int l = 0; l < 32; ++l) lane[l] = reinterpret_cast<const MmaArgs*>(values[l]);
    float a[M * K], b[K * N], d[M * N];
    for (int i = 0; i < M * K; ++i) a[i] = tf32_bits(lane[i % 32]->a[i / 32]);
    for (int i = 0; i < K * N; ++i) b[i] = tf32_bits(lane[i % 32]->b[i / 32]);
    for (int i = 0; i < M * N; ++i) d[i] = lane[i % 32]->c[i / 32];
    // FP32 accumulation in k order. A TF32 x TF32 product has at most 22
    // significant bits, so it is exact in float and d + a * b rounds once,
    // exactly like fmaf (and the loop vectorizes over the columns).
    for (int r = 0; r < M; ++r)
        for (int kk = 0; kk < K; ++kk) {
            const float ark = a[r * K + kk];
            for (int c = 0; c < N; ++c) d[r * N + c] += ark * b[kk * N + c];
        }
    for (int i = 0; i < M * N; ++i) lane[i % 32]->d[i / 32] = d[i];  // after all reads: d may alias c
}
}  // namespace detail

template <class Use, int M, int N, int K, class T, class Layout = void>
class fragment {
public:
    using element_type = std::conditional_t<std::is_same_v<T, precision::tf32>, float, T>;
    static constexpr int kRows = detail::Shape<Use, M, N, K>::rows, kCols = detail::Shape<Use, M, N, K>::cols;
    static_assert(kRows * kCols % 32 == 0, "tile must split over 32 lanes");
    enum { num_elements = kRows * kCols / 32 };
    element_type x[num_elements];
};

template <class Use, int M, int N, int K, class T, class L>
void fill_fragment(fragment<Use, M, N, K, T, L>& f, float value) {
    for (int e = 0; e < f.num_elements; ++e) f.x[e] = value;
}

// A or B fragment with a compile-time layout.
template <class Use, int M, int N, int K, class T, class L>
void load_matrix_sync(fragment<Use, M, N, K, T, L>& f, const float* ptr, unsigned ldm) {
    static_assert(!std::is_same_v<Use, accumulator>, "accumulator loads take a layout_t");
    detail::check_pointer(ptr, ldm, "load_matrix_sync");
    const int lane = ::emu::detail::lane_id();
    using F = fragment<Use, M, N, K, T, L>;
    for (int e = 0; e < F::num_elements; ++e) {
        const int idx = e * 32 + lane, r = idx / F::kCols, c = idx % F::kCols;
        f.x[e] = std::is_same_v<L, row_major> ? ptr[size_t(r) * ldm + c] : ptr[size_t(c) * ldm + r];
    }
}

template <int M, int N, int K, class T>
void load_matrix_sync(fragment<accumulator, M, N, K, T>& f, const float* ptr, unsigned ldm, layout_t layout) {
    detail::check_pointer(ptr, ldm, "load_matrix_sync");
    const int lane = ::emu::detail::lane_id();
    using F = fragment<accumulator, M, N, K, T>;
    for (int e = 0; e < F::num_elements; ++e) {
        const int idx = e * 32 + lane, r = idx / F::kCols, c = idx % F::kCols;
        f.x[e] = layout == mem_row_major ? ptr[size_t(r) * ldm + c] : ptr[size_t(c) * ldm + r];
    }
}

template <int M, int N, int K, class T>
void store_matrix_sync(float* ptr, const fragment<accumulator, M, N, K, T>& f, unsigned ldm, layout_t layout) {
    detail::check_pointer(ptr, ldm, "store_matrix_sync");
    const int lane = ::emu::detail::lane_id();
    using F = fragment<accumulator, M, N, K, T>;
    for (int e = 0; e < F::num_elements; ++e) {
        const int idx = e * 32 + lane, r = idx / F::kCols, c = idx % F::kCols;
        (layout == mem_row_major ? ptr[size_t(r) * ldm + c] : ptr[size_t(c) * ldm + r]) = f.x[e];
    }
}

template <int M, int N, int K, class LA, class LB>
void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, precision::tf32, LA>& a,
              const fragment<matrix_b, M, N, K, precision::tf32, LB>& b,
              const fragment<accumulator, M, N, K, float>& c) {
    const detail::MmaArgs args{a.x, b.x, c.x, d.x};
    ::emu::detail::warp_collective("wmma::mma_sync", 0xffffffffu, reinterpret_cast<uint64_t>(&args),
                                   &detail::mma_complete<M, N, K>);
}

inline float __float_to_tf32(float value) { return ::emu::round_to_tf32(value); }

}  // namespace nvcuda::wmma
