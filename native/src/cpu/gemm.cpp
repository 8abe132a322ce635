// Blocked GEMM (Goto/BLIS scheme, see gemm_driver.h): B is packed in KC x NC
// panels shared by all threads, each thread packs its own MC x KC block of A,
// and an 8x16 register micro-kernel accumulates over KC (AVX-512 in one
// pass, or 8x32 over two B slivers; picked at load time; AVX2 / baseline
// clones in two 4-row passes). Edges are
// zero-padded in the packs, so the micro-kernel never branches on shape;
// partial tiles are written back element by element. No alignment is
// assumed for A, B or C.
#include "cpu/gemm.h"

#include <algorithm>
#include <cstring>

#include "cpu/cpu_features.h"
#include "cpu/gemm_driver.h"
#include "cpu/gemm_tile.h"
#include "cpu/gemm_skinny.h"
#include "cpu/gemm_small_m.h"
#include "cpu/parallel.h"

namespace dynrec::cpu {

namespace gemm {

// The packed operands: A sliver [kc][MR], B sliver [kc][NR].
template <int ROWS>
static inline __attribute__((always_inline)) void accumulate_rows(int64_t kc, const float* a, const float* b,
                                                                    v16* acc) {
    accumulate_tile<ROWS>(kc, [a](int64_t r, int64_t p) { return a[p * MR + r]; },
                          [b](int64_t p) { return b + p * NR; }, acc);
}

// C (+)= alpha * acc for the mr x nr corner that exists.
static inline __attribute__((always_inline)) void write_back(const v16* acc, float* c, int64_t ldc, int64_t mr,
                                                               int64_t nr, float alpha, bool accumulate) {
    if (mr == MR && nr == NR) {
        for (int64_t r = 0; r < MR; ++r) {
            v16 cv = alpha * acc[r];
            if (accumulate) {
                v16 old;
                std::memcpy(&old, c + r * ldc, sizeof(old));
                cv += old;
            }
            std::memcpy(c + r * ldc, &cv, sizeof(cv));
        }
        return;
    }
    for (int64_t r = 0; r < mr; ++r)
        for (int64_t col = 0; col < nr; ++col) {
            const float v = alpha * acc[r][col];
            c[r * ldc + col] = accumulate ? c[r * ldc + col] + v : v;
        }
}

// AVX-512: all 8 rows in one pass, 8 independent FMA chains (enough to keep
// two FMA pipes busy at latency 4; 6 chains cap at 75% of peak).
__attribute__((target("avx512f")))
static void micro_kernel_avx512(int64_t kc, const float* __restrict a, const float* __restrict b, float* c,
                                int64_t ldc, int64_t mr, int64_t nr, float alpha, bool accumulate) {
    v16 acc[MR];
    accumulate_rows<8>(kc, a, b, acc);
    write_back(acc, c, ldc, mr, nr, alpha, accumulate);
}

// AVX2 / baseline: two passes of 4 rows, so the accumulators (2 ymm or 4 xmm
// per row) fit the 16 vector registers.
DYNREC_AVX2_CLONES
static void micro_kernel_generic(int64_t kc, const float* __restrict a, const float* __restrict b, float* c,
                                 int64_t ldc, int64_t mr, int64_t nr, float alpha, bool accumulate) {
    v16 acc[MR];
    accumulate_rows<4>(kc, a, b, acc);
    if (mr > 4) accumulate_rows<4>(kc, a + 4, b, acc + 4);
    write_back(acc, c, ldc, mr, nr, alpha, accumulate);
}

// AVX-512, two adjacent B slivers (b, b + kc * NR): the 8 x 32 tile.
__attribute__((target("avx512f")))
static void micro_kernel_pair_avx512(int64_t kc, const float* __restrict a, const float* __restrict b, float* c,
                                     int64_t ldc, int64_t mr, int64_t nr, float alpha, bool accumulate) {
    v16 acc0[MR], acc1[MR];
    const float* b1 = b + kc * NR;
    accumulate_tile_pair(kc, [a](int64_t r, int64_t p) { return a[p * MR + r]; },
                         [b](int64_t p) { return b + p * NR; }, [b1](int64_t p) { return b1 + p * NR; }, acc0,
                         acc1);
    write_back(acc0, c, ldc, mr, NR, alpha, accumulate);
    write_back(acc1, c + NR, ldc, mr, nr - NR, alpha, accumulate);
}

void micro_kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                  float alpha, bool accumulate) {
    if (use_avx512())
        micro_kernel_avx512(kc, a, b, c, ldc, mr, nr, alpha, accumulate);
    else
        micro_kernel_generic(kc, a, b, c, ldc, mr, nr, alpha, accumulate);
}

void micro_kernel_wide(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr, int64_t nr,
                       float alpha, bool accumulate) {
    if (nr <= NR) {
        micro_kernel(kc, a, b, c, ldc, mr, nr, alpha, accumulate);
    } else if (use_avx512()) {
        micro_kernel_pair_avx512(kc, a, b, c, ldc, mr, nr, alpha, accumulate);
    } else {
        micro_kernel_generic(kc, a, b, c, ldc, mr, NR, alpha, accumulate);
        micro_kernel_generic(kc, a, b + kc * NR, c + NR, ldc, mr, nr - NR, alpha, accumulate);
    }
}

void scale_rows(int64_t m, int64_t n, float beta, float* c, int64_t ldc) {
    if (beta == 1.0f) return;
    parallel_for(0, m, 64, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            float* row = c + i * ldc;
            if (beta == 0.0f)
                std::fill(row, row + n, 0.0f);
            else
                for (int64_t j = 0; j < n; ++j) row[j] *= beta;
        }
    });
}

}  // namespace gemm

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
    // A few output rows: read the large operand in place instead of packing it.
    if (sgemm_small_m(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
    // A reduction of a few steps (a weight gradient over a few samples): write C once, unpacked.
    if (sgemm_small_k(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
    gemm::gemm_packed(m, n, k, alpha, gemm::StridedA{a, lda, trans_a}, gemm::StridedB{b, ldb, trans_b}, beta, c,
                      ldc);
}

void sgemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                     const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                     float* c, int64_t ldc) {
    auto at = [](const float* x, int64_t ld, bool trans, int64_t r, int64_t col) {
        return trans ? x[col * ld + r] : x[r * ld + col];
    };
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double s = 0.0;
            for (int64_t p = 0; p < k; ++p)
                s += double(at(a, lda, trans_a, i, p)) * double(at(b, ldb, trans_b, p, j));
            const float prev = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
            c[i * ldc + j] = prev + alpha * float(s);
        }
}

}  // namespace dynrec::cpu
