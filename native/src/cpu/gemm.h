// Single-precision GEMM used by every optimized CPU kernel:
//   C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C   (row-major)
// op(X) = X or X^T. Packed, cache-blocked, OpenMP-parallel; 8x32 (AVX-512)
// and 8x16 (AVX2 / baseline) FMA micro-kernels, picked at load time.
#pragma once

#include <cstdint>

namespace dynrec::cpu {

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc);

// Naive triple loop with the same contract; the spec the tests compare against.
void sgemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                     const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                     float* c, int64_t ldc);

}  // namespace dynrec::cpu
