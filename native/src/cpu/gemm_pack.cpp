// 8 x 8 register transposes for the packers (see gemm_pack.h): AVX on CPUs
// that have it (every x86-64-v3 and AVX-512 CPU), scalar copies elsewhere.
#include "cpu/gemm_pack.h"

#include <immintrin.h>

namespace dynrec::cpu::gemm {

namespace {

__attribute__((target("avx"))) void pack_transposed8_avx(const float* src, int64_t ld, int64_t kc, float* dst,
                                                          int64_t dst_ld) {
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
        const float* s = src + p;
        const __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + ld), r2 = _mm256_loadu_ps(s + 2 * ld),
                     r3 = _mm256_loadu_ps(s + 3 * ld), r4 = _mm256_loadu_ps(s + 4 * ld),
                     r5 = _mm256_loadu_ps(s + 5 * ld), r6 = _mm256_loadu_ps(s + 6 * ld),
                     r7 = _mm256_loadu_ps(s + 7 * ld);
        // Pairs of rows interleaved, then pairs of pairs, then 128-bit halves swapped.
        const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
        const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        float* d = dst + p * dst_ld;
        _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
        _mm256_storeu_ps(d + dst_ld, _mm256_permute2f128_ps(u1, u5, 0x20));
        _mm256_storeu_ps(d + 2 * dst_ld, _mm256_permute2f128_ps(u2, u6, 0x20));
        _mm256_storeu_ps(d + 3 * dst_ld, _mm256_permute2f128_ps(u3, u7, 0x20));
        _mm256_storeu_ps(d + 4 * dst_ld, _mm256_permute2f128_ps(u0, u4, 0x31));
        _mm256_storeu_ps(d + 5 * dst_ld, _mm256_permute2f128_ps(u1, u5, 0x31));
        _mm256_storeu_ps(d + 6 * dst_ld, _mm256_permute2f128_ps(u2, u6, 0x31));
        _mm256_storeu_ps(d + 7 * dst_ld, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
    for (; p < kc; ++p)
        for (int64_t r = 0; r < 8; ++r) dst[p * dst_ld + r] = src[r * ld + p];
}

bool has_avx() {
    static const bool yes = __builtin_cpu_supports("avx") != 0;
    return yes;
}

}  // namespace

void pack_transposed8(const float* src, int64_t ld, int64_t rows, int64_t kc, float* dst, int64_t dst_ld) {
    if (rows == 8 && has_avx())
        pack_transposed8_avx(src, ld, kc, dst, dst_ld);
    else
        pack_transposed8_reference(src, ld, rows, kc, dst, dst_ld);
}

void pack_transposed8_reference(const float* src, int64_t ld, int64_t rows, int64_t kc, float* dst,
                                int64_t dst_ld) {
    for (int64_t p = 0; p < kc; ++p) {
        for (int64_t r = 0; r < rows; ++r) dst[p * dst_ld + r] = src[r * ld + p];
        for (int64_t r = rows; r < 8; ++r) dst[p * dst_ld + r] = 0.0f;
    }
}

}  // namespace dynrec::cpu::gemm
