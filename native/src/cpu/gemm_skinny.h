// GEMMs of the skinny shapes one or a few samples give (a batch of 1-4 rows):
//   tiny m (m <= kTinyM): C = alpha A op(B) + beta C with A's rows given
//     contiguous. The 8 x 16 register tiles of the small-m path would leave 7
//     of 8 rows (or 15 of 16 lanes) idle; here the vectors run along K
//     (x W^T: dot products of A's rows with W's rows, read in place) or along
//     N (A B: B's rows read in place), so every FMA does useful work.
//   small k (k <= kSmallK, e.g. a weight gradient op(A)^T op(B) summed over a
//     batch of a few rows): an outer-product-like update that writes C once,
//     instead of packing both operands for a reduction of a few steps.
// Results do not depend on the thread count: each C element is summed by one
// thread in a fixed order. A B with tiny m rounds exactly as the small-m path
// (gemm_small_m.h) rounds, so a row's bits do not depend on how many rows
// are asked for; x W^T with tiny m sums 16 lane partial sums (then the lanes,
// then the tail) and so rounds differently from larger m, as BLAS GEMV does.
// Small k sums p = 0..k-1 in order, as the packed path does. Same contract
// as sgemm (gemm.h): beta == 0 never reads C.
// kSmallK: measured on the dev machine's EPYC (1 and 2 threads) against the
// packed path for 384x696, 384x384 and 64x2048 outputs: faster for every k up
// to 16 (1.1-10x), level by k = 32.
#pragma once

#include <cstdint>

namespace dynrec::cpu {

constexpr int64_t kTinyM = 4;
constexpr int64_t kSmallK = 16;

// a: m rows of K floats, row i at a + i * lda (op(A) already laid out as rows).
// trans_b false: B [k, n] row-major (ldb); true: W [n, k] row-major, op(B) = W^T.
void tiny_m_gemm(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
                 int64_t ldb, bool trans_b, float beta, float* c, int64_t ldc);

// Runs C = alpha op(A) op(B) + beta C for 1 <= k <= kSmallK and returns true,
// or returns false (nothing written) when the shape is not one it serves.
bool sgemm_small_k(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace dynrec::cpu
