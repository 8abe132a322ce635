// gemm_unpacked (see gemm_unpacked.h): register tiles of MR rows x NV 16-lane
// vectors of C; per p, NV loads of B's row and MR broadcasts of A. Written once
// over the 16-lane vector type and compiled for AVX-512 (8 x 2 tiles: 16
// accumulators of its 32 registers) and, as clones, AVX2 / baseline (4 x 1).
#include "cpu/gemm_unpacked.h"

#include <cstring>

#include "cpu/cpu_features.h"
#include "cpu/gemm_tile.h"

namespace dynrec::cpu {

namespace {

using gemm::v16;
constexpr int64_t kLanes = 16;

template <int MR, int NV>
inline __attribute__((always_inline)) void tile(int64_t k, const float* a, int64_t a_row, int64_t a_col,
                                                const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate,
                                                const float* row_init) {
    v16 acc[MR][NV];
    for (int i = 0; i < MR; ++i)
        for (int v = 0; v < NV; ++v) {
            if (accumulate)
                std::memcpy(&acc[i][v], c + i * ldc + v * kLanes, sizeof(v16));
            else if (row_init)
                std::memcpy(&acc[i][v], row_init + v * kLanes, sizeof(v16));
            else
                acc[i][v] = v16{};
        }
    for (int64_t p = 0; p < k; ++p) {
        v16 bv[NV];
        for (int v = 0; v < NV; ++v) std::memcpy(&bv[v], b + p * ldb + v * kLanes, sizeof(v16));
#pragma GCC unroll 8
        for (int i = 0; i < MR; ++i) {
            const float ai = a[i * a_row + p * a_col];
            for (int v = 0; v < NV; ++v) acc[i][v] += bv[v] * ai;
        }
    }
    for (int i = 0; i < MR; ++i)
        for (int v = 0; v < NV; ++v) std::memcpy(c + i * ldc + v * kLanes, &acc[i][v], sizeof(v16));
}

// Columns past the last whole vector, one element at a time.
void tail_columns(int64_t m, int64_t j0, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col,
                  const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate, const float* row_init) {
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = j0; j < n; ++j) {
            float s = accumulate ? c[i * ldc + j] : row_init ? row_init[j] : 0.0f;
            for (int64_t p = 0; p < k; ++p) s += a[i * a_row + p * a_col] * b[p * ldb + j];
            c[i * ldc + j] = s;
        }
}

// Rows in tiles of MR, then 4, then 1, for the column range [j0, j0 + NV * 16).
// (One tile for the last 2-3 rows, loading each B vector once for them, measured
// no faster on M2M's 3-row groups: B comes from L2 on the first row's pass.)
template <int MR, int NV>
inline __attribute__((always_inline)) void column_step(int64_t m, int64_t j0, int64_t k, const float* a,
                                                       int64_t a_row, int64_t a_col, const float* b, int64_t ldb,
                                                       float* c, int64_t ldc, bool accumulate, const float* row_init) {
    const float* const init = row_init ? row_init + j0 : nullptr;
    b += j0;
    c += j0;
    int64_t i = 0;
    for (; i + MR <= m; i += MR)
        tile<MR, NV>(k, a + i * a_row, a_row, a_col, b, ldb, c + i * ldc, ldc, accumulate, init);
    if constexpr (MR > 4)
        for (; i + 4 <= m; i += 4)
            tile<4, NV>(k, a + i * a_row, a_row, a_col, b, ldb, c + i * ldc, ldc, accumulate, init);
    for (; i < m; ++i) tile<1, NV>(k, a + i * a_row, a_row, a_col, b, ldb, c + i * ldc, ldc, accumulate, init);
}

template <int MR, int NV>
inline __attribute__((always_inline)) void gemm_unpacked_impl(int64_t m, int64_t n, int64_t k, const float* a,
                                                              int64_t a_row, int64_t a_col, const float* b,
                                                              int64_t ldb, float* c, int64_t ldc, bool accumulate,
                                                              const float* row_init) {
    int64_t j = 0;
    for (; j + NV * kLanes <= n; j += NV * kLanes)
        column_step<MR, NV>(m, j, k, a, a_row, a_col, b, ldb, c, ldc, accumulate, row_init);
    if constexpr (NV > 1)
        for (; j + kLanes <= n; j += kLanes)
            column_step<MR, 1>(m, j, k, a, a_row, a_col, b, ldb, c, ldc, accumulate, row_init);
    if (j < n) tail_columns(m, j, n, k, a, a_row, a_col, b, ldb, c, ldc, accumulate, row_init);
}

__attribute__((target("avx512f"))) void gemm_unpacked_avx512(int64_t m, int64_t n, int64_t k, const float* a,
                                                              int64_t a_row, int64_t a_col, const float* b,
                                                              int64_t ldb, float* c, int64_t ldc, bool accumulate,
                                                              const float* row_init) {
    gemm_unpacked_impl<8, 2>(m, n, k, a, a_row, a_col, b, ldb, c, ldc, accumulate, row_init);
}

DYNREC_AVX2_CLONES void gemm_unpacked_generic(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row,
                                              int64_t a_col, const float* b, int64_t ldb, float* c, int64_t ldc,
                                              bool accumulate, const float* row_init) {
    gemm_unpacked_impl<4, 1>(m, n, k, a, a_row, a_col, b, ldb, c, ldc, accumulate, row_init);
}

}  // namespace

void gemm_unpacked(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col, const float* b,
                   int64_t ldb, float* c, int64_t ldc, bool accumulate, const float* row_init) {
    if (m <= 0 || n <= 0) return;
    if (use_avx512())
        gemm_unpacked_avx512(m, n, k, a, a_row, a_col, b, ldb, c, ldc, accumulate, row_init);
    else
        gemm_unpacked_generic(m, n, k, a, a_row, a_col, b, ldb, c, ldc, accumulate, row_init);
}

void gemm_unpacked_reference(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col,
                             const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate,
                             const float* row_init) {
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double s = accumulate ? c[i * ldc + j] : row_init ? row_init[j] : 0.0;
            for (int64_t p = 0; p < k; ++p) s += double(a[i * a_row + p * a_col]) * b[p * ldb + j];
            c[i * ldc + j] = float(s);
        }
}

}  // namespace dynrec::cpu
