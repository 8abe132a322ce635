// Skinny GEMMs (see gemm_skinny.h). Kernels are written once over the 16-lane
// vector type and compiled for AVX-512 and, as clones, AVX2 / baseline; the
// register blocking (rows of W or slivers of B per step) is wider on AVX-512,
// which has 32 vector registers.
#include "cpu/gemm_skinny.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/gemm_driver.h"
#include "cpu/gemm_tile.h"
#include "cpu/parallel.h"

namespace dynrec::cpu {

namespace {

using gemm::v16;
constexpr int64_t kLanes = 16;
// Columns per step of the A B kernel on AVX-512 (4 slivers); its tile buffer is [kTinyM][kRowTile].
constexpr int64_t kRowSlivers = 4, kRowTile = kRowSlivers * kLanes;
// Rows of C per step of the small-k kernel.
constexpr int kOuterRows = 4;

// Unaligned 16-float load (an out parameter: a vector return value would change the ABI per target).
inline __attribute__((always_inline)) void load16(v16& v, const float* p) { std::memcpy(&v, p, sizeof(v)); }

// The lanes in order (a fixed order, so results do not depend on anything but the shape).
inline __attribute__((always_inline)) float lane_sum(const v16& v) {
    float s = 0.0f;
    for (int l = 0; l < kLanes; ++l) s += v[l];
    return s;
}

inline void store_scaled(float* c, float v, float alpha, float beta) {
    *c = beta == 0.0f ? alpha * v : beta * *c + alpha * v;
}

// out[r * M + i] = dot(w[r], a row i) over k, for R rows of W and M rows of A.
template <int M, int R>
inline __attribute__((always_inline)) void dot_tile(int64_t k, const float* a, int64_t lda, const float* const* w,
                                                    float* out) {
    v16 acc[R][M] = {};
    int64_t p = 0;
    for (; p + kLanes <= k; p += kLanes) {
        v16 av[M];
#pragma GCC unroll 4
        for (int i = 0; i < M; ++i) load16(av[i], a + i * lda + p);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            v16 wv;
            load16(wv, w[r] + p);
#pragma GCC unroll 4
            for (int i = 0; i < M; ++i) acc[r][i] += wv * av[i];
        }
    }
    for (int r = 0; r < R; ++r)
        for (int i = 0; i < M; ++i) {
            float s = lane_sum(acc[r][i]);
            for (int64_t q = p; q < k; ++q) s += w[r][q] * a[i * lda + q];
            out[r * M + i] = s;
        }
}

// C columns [j0, j1) (rows of W) for M rows of A, R rows of W per step.
template <int M, int R>
inline __attribute__((always_inline)) void dot_columns(int64_t j0, int64_t j1, int64_t k, float alpha,
                                                       const float* a, int64_t lda, const float* w, int64_t ldw,
                                                       float beta, float* c, int64_t ldc) {
    float out[R * M];
    int64_t j = j0;
    for (; j + R <= j1; j += R) {
        const float* rows[R];
        for (int r = 0; r < R; ++r) rows[r] = w + (j + r) * ldw;
        dot_tile<M, R>(k, a, lda, rows, out);
        for (int r = 0; r < R; ++r)
            for (int i = 0; i < M; ++i) store_scaled(c + i * ldc + j + r, out[r * M + i], alpha, beta);
    }
    for (; j < j1; ++j) {
        const float* row = w + j * ldw;
        dot_tile<M, 1>(k, a, lda, &row, out);
        for (int i = 0; i < M; ++i) store_scaled(c + i * ldc + j, out[i], alpha, beta);
    }
}

// tile[i][0 .. S*16) = sum_p a[i][p] * B[p][0 .. S*16) for M rows of A: B's
// rows read in place, A broadcast. The sums leave through `tile` so that the
// write-back (gemm's baseline code) rounds exactly as the small-m path does.
template <int M, int S>
inline __attribute__((always_inline)) void row_tile(int64_t k, const float* a, int64_t lda, const float* b,
                                                    int64_t ldb, float* tile) {
    v16 acc[M][S] = {};
    for (int64_t p = 0; p < k; ++p) {
        v16 bv[S];
#pragma GCC unroll 4
        for (int s = 0; s < S; ++s) load16(bv[s], b + p * ldb + s * kLanes);
#pragma GCC unroll 4
        for (int i = 0; i < M; ++i) {
            const float ai = a[i * lda + p];
#pragma GCC unroll 4
            for (int s = 0; s < S; ++s) acc[i][s] += ai * bv[s];
        }
    }
    for (int i = 0; i < M; ++i)
        for (int s = 0; s < S; ++s) std::memcpy(tile + i * kRowTile + s * kLanes, &acc[i][s], sizeof(v16));
}

// R rows of C, columns [0, S*16): C[r] = alpha sum_p ai[r][p] op(B)[p] + beta C[r]
// (ai: R rows of kSmallK). One load of B serves R rows.
template <int R, int S>
inline __attribute__((always_inline)) void outer_tile(int64_t k, float alpha, const float* ai, const float* b,
                                                      int64_t ldb, float beta, float* c, int64_t ldc) {
    v16 acc[R][S] = {};
    for (int64_t p = 0; p < k; ++p) {
        v16 bv[S];
#pragma GCC unroll 4
        for (int s = 0; s < S; ++s) load16(bv[s], b + p * ldb + s * kLanes);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
            const float a = ai[r * kSmallK + p];
#pragma GCC unroll 4
            for (int s = 0; s < S; ++s) acc[r][s] += a * bv[s];
        }
    }
    for (int r = 0; r < R; ++r)
        for (int s = 0; s < S; ++s) {
            float* cp = c + r * ldc + s * kLanes;
            v16 v = alpha * acc[r][s];
            if (beta != 0.0f) {
                v16 old;
                load16(old, cp);
                v += beta * old;
            }
            std::memcpy(cp, &v, sizeof(v));
        }
}

// R rows of C (op(B) rows contiguous, ldb apart): S slivers of 16 per step,
// then single slivers, then the last < 16 columns element by element.
template <int R, int S>
inline __attribute__((always_inline)) void outer_rows(int64_t n, int64_t k, float alpha, const float* ai,
                                                      const float* b, int64_t ldb, float beta, float* c,
                                                      int64_t ldc) {
    int64_t j = 0;
    for (; j + S * kLanes <= n; j += S * kLanes) outer_tile<R, S>(k, alpha, ai, b + j, ldb, beta, c + j, ldc);
    for (; j + kLanes <= n; j += kLanes) outer_tile<R, 1>(k, alpha, ai, b + j, ldb, beta, c + j, ldc);
    for (; j < n; ++j)
        for (int r = 0; r < R; ++r) {
            float s = 0.0f;
            for (int64_t p = 0; p < k; ++p) s += ai[r * kSmallK + p] * b[p * ldb + j];
            store_scaled(c + r * ldc + j, s, alpha, beta);
        }
}

// The per-target entry points: M (1..kTinyM) dispatched at run time.
#define DYNREC_SKINNY_SWITCH_M(m, CALL) \
    switch (m) {                        \
        case 1: CALL(1); break;         \
        case 2: CALL(2); break;         \
        case 3: CALL(3); break;         \
        default: CALL(4); break;        \
    }

__attribute__((target("avx512f"))) void dot_columns_avx512(int64_t m, int64_t j0, int64_t j1, int64_t k,
                                                            float alpha, const float* a, int64_t lda,
                                                            const float* w, int64_t ldw, float beta, float* c,
                                                            int64_t ldc) {
#define DYNREC_CALL(M) dot_columns<M, 4>(j0, j1, k, alpha, a, lda, w, ldw, beta, c, ldc)
    DYNREC_SKINNY_SWITCH_M(m, DYNREC_CALL)
#undef DYNREC_CALL
}
DYNREC_AVX2_CLONES void dot_columns_generic(
    int64_t m, int64_t j0, int64_t j1, int64_t k, float alpha, const float* a, int64_t lda, const float* w,
    int64_t ldw, float beta, float* c, int64_t ldc) {
#define DYNREC_CALL(M) dot_columns<M, 2>(j0, j1, k, alpha, a, lda, w, ldw, beta, c, ldc)
    DYNREC_SKINNY_SWITCH_M(m, DYNREC_CALL)
#undef DYNREC_CALL
}

// slivers: kRowSlivers or 1.
__attribute__((target("avx512f"))) void row_tile_avx512(int64_t m, int64_t slivers, int64_t k, const float* a,
                                                         int64_t lda, const float* b, int64_t ldb, float* tile) {
#define DYNREC_CALL(M) \
    (slivers == 1 ? row_tile<M, 1>(k, a, lda, b, ldb, tile) : row_tile<M, kRowSlivers>(k, a, lda, b, ldb, tile))
    DYNREC_SKINNY_SWITCH_M(m, DYNREC_CALL)
#undef DYNREC_CALL
}
// Two slivers per pass here (16 registers): the wide step runs as two passes.
DYNREC_AVX2_CLONES void row_tile_generic(int64_t m, int64_t slivers,
                                                                                 int64_t k, const float* a,
                                                                                 int64_t lda, const float* b,
                                                                                 int64_t ldb, float* tile) {
#define DYNREC_CALL(M)                                                             \
    if (slivers == 1) {                                                            \
        row_tile<M, 1>(k, a, lda, b, ldb, tile);                                   \
    } else {                                                                       \
        row_tile<M, 2>(k, a, lda, b, ldb, tile);                                   \
        row_tile<M, 2>(k, a, lda, b + 2 * kLanes, ldb, tile + 2 * kLanes);         \
    }
    DYNREC_SKINNY_SWITCH_M(m, DYNREC_CALL)
#undef DYNREC_CALL
}
#undef DYNREC_SKINNY_SWITCH_M

// rows: kOuterRows or 1.
__attribute__((target("avx512f"))) void outer_rows_avx512(int64_t rows, int64_t n, int64_t k, float alpha,
                                                           const float* ai, const float* b, int64_t ldb, float beta,
                                                           float* c, int64_t ldc) {
    if (rows == 1)
        outer_rows<1, 4>(n, k, alpha, ai, b, ldb, beta, c, ldc);
    else
        outer_rows<kOuterRows, 4>(n, k, alpha, ai, b, ldb, beta, c, ldc);
}
DYNREC_AVX2_CLONES void outer_rows_generic(int64_t rows, int64_t n,
                                                                                   int64_t k, float alpha,
                                                                                   const float* ai, const float* b,
                                                                                   int64_t ldb, float beta, float* c,
                                                                                   int64_t ldc) {
    if (rows == 1)
        outer_rows<1, 2>(n, k, alpha, ai, b, ldb, beta, c, ldc);
    else
        outer_rows<kOuterRows, 2>(n, k, alpha, ai, b, ldb, beta, c, ldc);
}

bool has_avx512() { return use_avx512(); }

// A B for m <= kTinyM, rounded as small_m_b_rows rounds (gemm_small_m.cpp):
// K in the same blocks, each block's alpha * sum stored, or added to C when
// it is not the first block or beta != 0 (beta other than 0 / 1 scales C
// first). The gradients of an op then have the same bits whether 3 or 30
// rows of them are asked for.
void tiny_m_b_rows(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
                   int64_t ldb, float beta, float* c, int64_t ldc) {
    if (beta != 0.0f && beta != 1.0f) gemm::scale_rows(m, n, beta, c, ldc);
    const int64_t kb = gemm::k_block(k);
    const bool avx512 = has_avx512();
    const auto kernel = avx512 ? row_tile_avx512 : row_tile_generic;
    parallel_for(0, (n + kRowTile - 1) / kRowTile, 2, [&](int64_t g0, int64_t g1) {
        float tile[kTinyM * kRowTile];
        std::vector<float> edge;  // the last < 16 columns, zero-padded to a sliver
        for (int64_t j = g0 * kRowTile; j < std::min(n, g1 * kRowTile);) {
            const int64_t width = std::min(n - j, kRowTile);
            const int64_t slivers = width == kRowTile ? kRowSlivers : 1, cols = std::min(width, slivers * kLanes);
            int64_t ld;
            const float* src = gemm::b_sliver(b, ldb, k, j, cols, edge, ld);
            for (int64_t p0 = 0; p0 < k; p0 += kb) {
                const int64_t kc = std::min(kb, k - p0);
                kernel(m, slivers, kc, a + p0, lda, src + p0 * ld, ld, tile);
                const bool accumulate = p0 > 0 || beta != 0.0f;
                for (int64_t i = 0; i < m; ++i)
                    for (int64_t col = 0; col < cols; ++col) {
                        float* cp = c + i * ldc + j + col;
                        const float v = alpha * tile[i * kRowTile + col];
                        *cp = accumulate ? *cp + v : v;
                    }
            }
            j += cols;
        }
    });
}

}  // namespace

void tiny_m_gemm(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
                 int64_t ldb, bool trans_b, float beta, float* c, int64_t ldc) {
    if (!trans_b) {
        tiny_m_b_rows(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    const bool avx512 = has_avx512();
    // Threads split C's columns (rows of W), 4 at a time.
    parallel_for(0, (n + 3) / 4, 8, [&](int64_t u0, int64_t u1) {
        (avx512 ? dot_columns_avx512 : dot_columns_generic)(m, u0 * 4, std::min(n, u1 * 4), k, alpha, a, lda, b, ldb,
                                                            beta, c, ldc);
    });
}

bool sgemm_small_k(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
    if (k < 1 || k > kSmallK || m <= 0 || n <= 0 || alpha == 0.0f) return false;
    // op(B)'s k rows contiguous: in place, or W^T laid out once (k x n floats).
    const float* rows_b = b;
    int64_t ld_rows = ldb;
    thread_local std::vector<float> transposed;
    if (trans_b) {
        transposed.assign(static_cast<size_t>(k * n), 0.0f);
        for (int64_t j = 0; j < n; ++j)
            for (int64_t p = 0; p < k; ++p) transposed[p * n + j] = b[j * ldb + p];
        rows_b = transposed.data();
        ld_rows = n;
    }
    const bool avx512 = has_avx512();
    const auto kernel = avx512 ? outer_rows_avx512 : outer_rows_generic;
    // Threads split C's rows, kOuterRows at a time.
    parallel_for(0, (m + kOuterRows - 1) / kOuterRows, 4, [&](int64_t g0, int64_t g1) {
        float ai[kOuterRows * kSmallK];
        for (int64_t i = g0 * kOuterRows; i < std::min(m, g1 * kOuterRows);) {
            const int64_t rows = m - i >= kOuterRows ? kOuterRows : 1;
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t p = 0; p < k; ++p) ai[r * kSmallK + p] = trans_a ? a[p * lda + i + r] : a[(i + r) * lda + p];
            kernel(rows, n, k, alpha, ai, rows_b, ld_rows, beta, c + i * ldc, ldc);
            i += rows;
        }
    });
    if (trans_b && transposed.size() > (size_t(1) << 20)) std::vector<float>().swap(transposed);
    return true;
}

}  // namespace dynrec::cpu
