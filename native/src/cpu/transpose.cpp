// transpose (see transpose.h): whole 16 x 16 blocks by an in-register
// transpose on AVX-512 (4 shuffle stages, 64 shuffles a block), the edges and
// CPUs without AVX-512 by a blocked scalar loop (16 x 16 blocks, so reads and
// writes each stay within 16 cache lines).
#include "cpu/transpose.h"

// GCC 12 flags the AVX-512 shuffle intrinsics' own _mm512_undefined_ps() operand
// as uninitialized when they are inlined (a known false positive in its headers).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "cpu/cpu_features.h"

namespace dynrec::cpu {

namespace {

constexpr int64_t kBlock = 16;

void transpose_scalar_block(int64_t i0, int64_t i1, int64_t j0, int64_t j1, const float* src, int64_t ld_src,
                            float* dst, int64_t ld_dst) {
    for (int64_t j = j0; j < j1; ++j)
        for (int64_t i = i0; i < i1; ++i) dst[j * ld_dst + i] = src[i * ld_src + j];
}

// One whole block: rows src[0..16) of 16 floats -> rows dst[0..16).
__attribute__((target("avx512f"))) inline void transpose16x16(const float* src, int64_t ld_src, float* dst,
                                                                int64_t ld_dst) {
    __m512 r[16], t[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * ld_src);
    // t[2i] lane L = (r2i[4L], r2i+1[4L], r2i[4L+1], r2i+1[4L+1]); t[2i+1] the same for 4L+2, 4L+3.
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // r[4i + c] lane L = rows 4i..4i+3 of column 4L + c.
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 2]);
        const __m512d c = _mm512_castps_pd(t[4 * i + 1]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
    }
    // Column 4L + c = lane L of r[c], r[4 + c], r[8 + c], r[12 + c].
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
        const __m512 v0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44), v1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xEE);
        const __m512 w0 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44);
        const __m512 w1 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xEE);
        _mm512_storeu_ps(dst + c * ld_dst, _mm512_shuffle_f32x4(v0, w0, 0x88));
        _mm512_storeu_ps(dst + (4 + c) * ld_dst, _mm512_shuffle_f32x4(v0, w0, 0xDD));
        _mm512_storeu_ps(dst + (8 + c) * ld_dst, _mm512_shuffle_f32x4(v1, w1, 0x88));
        _mm512_storeu_ps(dst + (12 + c) * ld_dst, _mm512_shuffle_f32x4(v1, w1, 0xDD));
    }
}

__attribute__((target("avx512f"))) void transpose_avx512(int64_t rows, int64_t cols, const float* src,
                                                           int64_t ld_src, float* dst, int64_t ld_dst) {
    const int64_t whole_rows = rows / kBlock * kBlock, whole_cols = cols / kBlock * kBlock;
    for (int64_t i0 = 0; i0 < whole_rows; i0 += kBlock) {
        for (int64_t j0 = 0; j0 < whole_cols; j0 += kBlock)
            transpose16x16(src + i0 * ld_src + j0, ld_src, dst + j0 * ld_dst + i0, ld_dst);
        transpose_scalar_block(i0, i0 + kBlock, whole_cols, cols, src, ld_src, dst, ld_dst);
    }
    for (int64_t j0 = 0; j0 < cols; j0 += kBlock)
        transpose_scalar_block(whole_rows, rows, j0, std::min(cols, j0 + kBlock), src, ld_src, dst, ld_dst);
}

void transpose_blocked(int64_t rows, int64_t cols, const float* src, int64_t ld_src, float* dst, int64_t ld_dst) {
    for (int64_t i0 = 0; i0 < rows; i0 += kBlock)
        for (int64_t j0 = 0; j0 < cols; j0 += kBlock)
            transpose_scalar_block(i0, std::min(rows, i0 + kBlock), j0, std::min(cols, j0 + kBlock), src, ld_src,
                                   dst, ld_dst);
}

}  // namespace

void transpose(int64_t rows, int64_t cols, const float* src, int64_t ld_src, float* dst, int64_t ld_dst) {
    if (rows <= 0 || cols <= 0) return;
    if (use_avx512())
        transpose_avx512(rows, cols, src, ld_src, dst, ld_dst);
    else
        transpose_blocked(rows, cols, src, ld_src, dst, ld_dst);
}

void transpose_reference(int64_t rows, int64_t cols, const float* src, int64_t ld_src, float* dst, int64_t ld_dst) {
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) dst[j * ld_dst + i] = src[i * ld_src + j];
}

}  // namespace dynrec::cpu
