// A GEMM for the per-group products of hyper_grouped.cpp: small operands that
// sit in L1/L2 and are used once, where packing (what sgemm does) costs as
// much as the arithmetic. One thread; A is read through two strides (so a
// transposed A costs nothing), B and C are row-major and read in place.
// Each C element is summed over p in ascending order: results depend on the
// shape only.
#pragma once

#include <cstdint>

namespace dynrec::cpu {

// C[i, j] = init(i, j) + sum_{p < k} A(i, p) B[p, j] for i < m, j < n, with
// A(i, p) = a[i * a_row + p * a_col] and init = C[i, j] when `accumulate`,
// else row_init[j] when row_init is given (one row for every i: a bias, read
// from L1 instead of first copying it into every row of C), else 0.
void gemm_unpacked(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col, const float* b,
                   int64_t ldb, float* c, int64_t ldc, bool accumulate, const float* row_init = nullptr);

// The naive loops with the same contract (the tests' reference).
void gemm_unpacked_reference(int64_t m, int64_t n, int64_t k, const float* a, int64_t a_row, int64_t a_col,
                             const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate,
                             const float* row_init = nullptr);

}  // namespace dynrec::cpu
