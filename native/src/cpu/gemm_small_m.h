// GEMMs with a few rows of output (small-batch forward passes and input
// gradients: C is [batch, n] with batch <= kSmallM) without packing the large
// operand. The packed path copies all of B (the weights) on every call,
// which at these batches costs as much as the arithmetic; here the weights
// are read where they lie and only the small operand is packed:
//   op(B) = B (row-major [k, n]): 16-wide column slivers of B are loaded
//     straight from B's rows;
//   op(B) = W^T (W row-major [n, k], the x W^T of a linear layer): C^T = W op(A)^T
//     is formed 8 rows of W at a time, broadcasting from W's rows.
// Each C element is summed over K in a fixed order by one thread, so results
// do not depend on the thread count. Same contract as sgemm (gemm.h).
#pragma once

#include <cstdint>

namespace dynrec::cpu {

// Output rows up to which the small-m path is considered.
constexpr int64_t kSmallM = 32;

// This thread's buffers for a packed op(A) and for a product, reused between
// calls (kept up to 1 Mi floats, so a huge call does not pin its memory).
float* small_m_pack_buffer(int64_t floats);
float* small_m_product_buffer(int64_t floats);

// C = alpha op(A) op(B) + beta C for m <= kSmallM, op(A) already packed as the
// packed path packs A over all of K: the block of K starting at p0 (blocks of
// gemm::k_block(k)) at apack + p0 * round_up(m, MR), as ceil(m / MR) slivers
// of [kc][MR]. op(B) = B [k, n] row-major (trans_b false) or W^T of a
// row-major W [n, k] (trans_b true), read in place through ldb. gemm_rows
// (gemm_driver.h) feeds its fused A packers through this.
void small_m_gemm(int64_t m, int64_t n, int64_t k, float alpha, const float* apack, const float* b, int64_t ldb,
                  bool trans_b, float beta, float* c, int64_t ldc);

// Runs C = alpha op(A) op(B) + beta C by the small-m path and returns true,
// or returns false (nothing written) when the shape is not one it serves.
bool sgemm_small_m(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace dynrec::cpu
