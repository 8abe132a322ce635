// Small-m GEMM (see gemm_small_m.h). Register tiles are the packed path's
// (8 rows x 16 columns of FMA accumulators, AVX-512 in one pass, AVX2 /
// baseline in two passes of 4 rows); only where the operands come from differs.
#include "cpu/gemm_small_m.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/gemm_driver.h"
#include "cpu/gemm_skinny.h"
#include "cpu/gemm_tile.h"
#include "cpu/parallel.h"

namespace dynrec::cpu {

namespace {

using gemm::ceil_div;
using gemm::MR;
using gemm::NR;

using gemm::v16;

// The 8 x 16 tile in two passes of 4 rows (AVX2 / baseline) or one of 8 (AVX-512).
template <class AAt, class BRow>
static inline __attribute__((always_inline)) void tile_two_passes(int64_t kc, const AAt& a_at, const BRow& b_row,
                                                                  v16* acc, int64_t rows) {
    gemm::accumulate_tile<4>(kc, a_at, b_row, acc);
    if (rows > 4) gemm::accumulate_tile<4>(kc, [&](int64_t r, int64_t p) { return a_at(r + 4, p); }, b_row, acc + 4);
}

// Packed A sliver [kc][MR] times B rows read in place (stride ldb).
struct PackedA {
    const float* a;
    float operator()(int64_t r, int64_t p) const { return a[p * MR + r]; }
};
struct StridedRows {
    const float* b;
    int64_t ld;
    const float* operator()(int64_t p) const { return b + p * ld; }
};
// Eight rows of W read in place: a(r, p) = W[row r][p].
struct WRows {
    const float* const* rows;
    float operator()(int64_t r, int64_t p) const { return rows[r][p]; }
};

__attribute__((target("avx512f"))) void tile_b_rows_avx512(int64_t kc, const float* apack, const float* b,
                                                            int64_t ldb, v16* acc, int64_t) {
    gemm::accumulate_tile<8>(kc, PackedA{apack}, StridedRows{b, ldb}, acc);
}
DYNREC_AVX2_CLONES void tile_b_rows_generic(int64_t kc, const float* apack,
                                                                                    const float* b, int64_t ldb,
                                                                                    v16* acc, int64_t rows) {
    tile_two_passes(kc, PackedA{apack}, StridedRows{b, ldb}, acc, rows);
}
__attribute__((target("avx512f"))) void tile_w_rows_avx512(int64_t kc, const float* const* w_rows,
                                                            const float* bpack, v16* acc, int64_t) {
    gemm::accumulate_tile<8>(kc, WRows{w_rows}, StridedRows{bpack, NR}, acc);
}
DYNREC_AVX2_CLONES void tile_w_rows_generic(int64_t kc,
                                                                                    const float* const* w_rows,
                                                                                    const float* bpack, v16* acc,
                                                                                    int64_t rows) {
    tile_two_passes(kc, WRows{w_rows}, StridedRows{bpack, NR}, acc, rows);
}

bool has_avx512() { return use_avx512(); }

// Thread-local scratch kept between calls up to 1 Mi floats (a fresh
// allocation per call would page-fault at these sizes).
float* keep(std::vector<float>& buffer, int64_t floats) {
    constexpr int64_t kKeep = int64_t(1) << 20;
    if (static_cast<int64_t>(buffer.size()) > kKeep) std::vector<float>().swap(buffer);
    if (static_cast<int64_t>(buffer.size()) < floats) buffer.resize(static_cast<size_t>(floats));
    return buffer.data();
}

float* transposed_buffer(int64_t floats) {
    thread_local std::vector<float> buffer;
    return keep(buffer, floats);
}

// op(B) = B [k, n] row-major: threads split 16-wide column slivers; each K
// block of a sliver is read from B's rows in place and reused from L1 by
// every row group of the packed A.
void small_m_b_rows(int64_t m, int64_t n, int64_t k, float alpha, const float* apack, const float* b, int64_t ldb,
                    float beta, float* c, int64_t ldc) {
    const int64_t kb = gemm::k_block(k), mpad = gemm::round_up(m, MR);
    const bool avx512 = has_avx512();
    const int64_t n_slivers = ceil_div(n, NR);
    parallel_for(0, n_slivers, 2, [&](int64_t s0, int64_t s1) {
        std::vector<float> edge;  // the last sliver when narrower than 16
        for (int64_t s = s0; s < s1; ++s) {
            const int64_t j = s * NR, nr = std::min(NR, n - j);
            int64_t bld;
            const float* bs = gemm::b_sliver(b, ldb, k, j, nr, edge, bld);
            for (int64_t p0 = 0; p0 < k; p0 += kb) {
                const int64_t kc = std::min(kb, k - p0);
                const bool accumulate_c = p0 > 0 || beta != 0.0f;
                for (int64_t ir = 0; ir < m; ir += MR) {
                    const int64_t mr = std::min(MR, m - ir);
                    v16 acc[MR];
                    const float* ap = apack + p0 * mpad + ir * kc;
                    if (avx512)
                        tile_b_rows_avx512(kc, ap, bs + p0 * bld, bld, acc, mr);
                    else
                        tile_b_rows_generic(kc, ap, bs + p0 * bld, bld, acc, mr);
                    float* cr = c + ir * ldc + j;
                    for (int64_t r = 0; r < mr; ++r)
                        for (int64_t col = 0; col < nr; ++col) {
                            const float v = alpha * acc[r][col];
                            cr[r * ldc + col] = accumulate_c ? cr[r * ldc + col] + v : v;
                        }
                }
            }
        }
    });
}

// op(B) = W^T with W [n, k] row-major: C^T = W op(A)^T, threads split blocks of
// 8 rows of W (columns of C); op(A)^T is re-laid from the packed A as [k][16]
// slivers of at most 16 rows of op(A). One pass over K per tile, written back transposed.
void small_m_w_rows(int64_t m, int64_t n, int64_t k, float alpha, const float* apack, const float* w, int64_t ldw,
                    float beta, float* c, int64_t ldc) {
    const int64_t kb = gemm::k_block(k), mpad = gemm::round_up(m, MR), a_slivers = ceil_div(m, NR);
    float* const bpack = transposed_buffer(a_slivers * k * NR);
    for (int64_t q = 0; q < a_slivers; ++q) {
        float* dst = bpack + q * k * NR;
        for (int64_t p0 = 0; p0 < k; p0 += kb) {
            const int64_t kc = std::min(kb, k - p0);
            for (int64_t half = 0; half < NR / MR; ++half) {
                const int64_t g = q * (NR / MR) + half;  // row group of the packed A
                if (g * MR >= mpad) {
                    for (int64_t p = 0; p < kc; ++p) std::fill_n(dst + (p0 + p) * NR + half * MR, MR, 0.0f);
                    continue;
                }
                const float* src = apack + p0 * mpad + g * kc * MR;
                for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + (p0 + p) * NR + half * MR, src + p * MR, MR * sizeof(float));
            }
        }
    }
    const bool avx512 = has_avx512();
    parallel_for(0, ceil_div(n, MR), 4, [&](int64_t r0, int64_t r1) {
        for (int64_t rb = r0; rb < r1; ++rb) {
            const int64_t j = rb * MR, mr = std::min(MR, n - j);
            const float* rows[MR];
            for (int64_t r = 0; r < MR; ++r) rows[r] = w + (j + (r < mr ? r : 0)) * ldw;  // rows past n: ignored
            for (int64_t q = 0; q < a_slivers; ++q) {
                const int64_t i0 = q * NR, cols = std::min(NR, m - i0);
                v16 acc[MR];
                if (avx512)
                    tile_w_rows_avx512(k, rows, bpack + q * k * NR, acc, mr);
                else
                    tile_w_rows_generic(k, rows, bpack + q * k * NR, acc, mr);
                for (int64_t col = 0; col < cols; ++col) {
                    float* crow = c + (i0 + col) * ldc + j;
                    for (int64_t r = 0; r < mr; ++r) {
                        const float v = alpha * acc[r][col];
                        crow[r] = beta == 0.0f ? v : beta * crow[r] + v;
                    }
                }
            }
        }
    });
}

}  // namespace

float* small_m_pack_buffer(int64_t floats) {
    thread_local std::vector<float> buffer;
    return keep(buffer, floats);
}

float* small_m_product_buffer(int64_t floats) {
    thread_local std::vector<float> buffer;
    return keep(buffer, floats);
}

void small_m_gemm(int64_t m, int64_t n, int64_t k, float alpha, const float* apack, const float* b, int64_t ldb,
                  bool trans_b, float beta, float* c, int64_t ldc) {
    if (m <= kTinyM) {
        // A few rows: unpack op(A) into rows and let every FMA do useful work.
        float* const rows = transposed_buffer(m * k);
        const int64_t kb = gemm::k_block(k), mpad = gemm::round_up(m, MR);
        for (int64_t p0 = 0; p0 < k; p0 += kb) {
            const int64_t kc = std::min(kb, k - p0);
            const float* src = apack + p0 * mpad;  // one sliver: m <= MR
            for (int64_t p = 0; p < kc; ++p)
                for (int64_t i = 0; i < m; ++i) rows[i * k + p0 + p] = src[p * MR + i];
        }
        tiny_m_gemm(m, n, k, alpha, rows, k, b, ldb, trans_b, beta, c, ldc);
        return;
    }
    if (trans_b) {
        small_m_w_rows(m, n, k, alpha, apack, b, ldb, beta, c, ldc);
        return;
    }
    // beta other than 0 / 1 scales C first; the tiles then add (beta == 1) or store (beta == 0).
    if (beta != 0.0f && beta != 1.0f) gemm::scale_rows(m, n, beta, c, ldc);
    small_m_b_rows(m, n, k, alpha, apack, b, ldb, beta, c, ldc);
}

bool sgemm_small_m(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
    if (m <= 0 || m > kSmallM || n <= 0 || k <= 0 || alpha == 0.0f) return false;
    if (m <= kTinyM) {
        // Rows of op(A) in place, or gathered from A^T once (m x k floats).
        const float* rows = a;
        int64_t ld_rows = lda;
        if (trans_a) {
            float* const gathered = small_m_pack_buffer(m * k);
            for (int64_t p = 0; p < k; ++p)
                for (int64_t i = 0; i < m; ++i) gathered[i * k + p] = a[p * lda + i];
            rows = gathered;
            ld_rows = k;
        }
        tiny_m_gemm(m, n, k, alpha, rows, ld_rows, b, ldb, trans_b, beta, c, ldc);
        return true;
    }
    const int64_t kb = gemm::k_block(k), mpad = gemm::round_up(m, MR);
    float* const apack = small_m_pack_buffer(mpad * k);
    for (int64_t p0 = 0; p0 < k; p0 += kb)
        gemm::StridedA{a, lda, trans_a}(0, m, p0, std::min(kb, k - p0), apack + p0 * mpad);
    small_m_gemm(m, n, k, alpha, apack, b, ldb, trans_b, beta, c, ldc);
    return true;
}

}  // namespace dynrec::cpu
