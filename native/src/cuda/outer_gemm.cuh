// The outer-product GEMM engine behind hyper_linear (and so apg_layer's
// generated steps). Never materializes the per-row generated weight:
//
//   rows form:   C[i, n] = act( sum_{p < P, q < Q} u[i, p] v[i, q] W(p, q, n) )
//   wgrad form:  D(p, q, n) = sum_{i < M} u[i, p] v[i, q] w[i, n]
//
// where u is [M, P_u] and v is [M, Q_v], each optionally augmented with a
// trailing column of ones (P = P_u + aug_u, Q = Q_v + aug_v). W(p, q, n) is
// read from (and D written to) up to four regions: the main tensor for
// p < P_u, q < Q_v; `q_aug` for q = Q_v (v's ones column); `p_aug` for
// p = P_u; `both` for p = P_u, q = Q_v. A NULL region reads as zero (is
// skipped when written). Strides are in floats.
//
// hyper_linear: y = act(x S + z c_w^T + c_b) with S = reshape(z g_w^T + g_b) is
// the rows form with u = [x, 1], v = [z, 1], W = (g_w, g_b, c_w, c_b); its
// input gradients are rows forms over (grad_pre ⊗ [z, 1]) and ([x, 1] ⊗
// grad_pre), and all four weight gradients are one wgrad form.
#pragma once

#include <cstdint>

namespace dynrec::cuda {

template <typename T>
struct OuterRegions {
    T* main = nullptr;
    int64_t main_p = 0, main_q = 0, main_n = 0;
    T* q_aug = nullptr;
    int64_t q_aug_p = 0, q_aug_n = 0;
    T* p_aug = nullptr;
    int64_t p_aug_q = 0, p_aug_n = 0;
    T* both = nullptr;
    int64_t both_n = 0;
};

struct OuterFactors {
    const float* u;
    int64_t p_u, ldu;
    bool aug_u;
    const float* v;
    int64_t q_v, ldv;
    bool aug_v;
    int64_t p() const { return p_u + (aug_u ? 1 : 0); }
    int64_t q() const { return q_v + (aug_v ? 1 : 0); }
};

// What the rows form does with each sum s before storing C[i, n]:
//   C = act(s) * act'(grad_of[i, n]) (+ C when accumulate)
// where act'(.) is `grad_act`'s derivative taken from its output (grad_of may
// be NULL: no factor; grad_of shares C's row stride).
struct RowsEpilogue {
    int32_t activation = 0;  // dynrec_activation applied to the sum
    const float* grad_of = nullptr;
    int32_t grad_act = 0;
    bool accumulate = false;
};

// Floats of scratch outer_gemm_rows needs to split its reduction (0: it never splits this shape).
int64_t outer_gemm_rows_workspace_floats(int64_t m, int64_t n_cols, int64_t p, int64_t q);

// C[i, n] for i < m, n < n_cols, row stride ldc. With workspace = NULL the
// reduction is not split (fewer blocks, no scratch); else the workspace holds
// outer_gemm_rows_workspace_floats(m, n_cols, P, Q) floats (P, Q at least f's).
void outer_gemm_rows(void* stream, int64_t m, int64_t n_cols, const OuterFactors& f,
                     const OuterRegions<const float>& w, const RowsEpilogue& epilogue, float* c, int64_t ldc,
                     float* workspace);

// Floats of scratch outer_gemm_wgrad needs (split-K partial sums).
int64_t outer_gemm_wgrad_workspace_floats(int64_t m, int64_t n_cols, int64_t p, int64_t q);

// D(p, q, n) = sum_i u[i,p] v[i,q] w[i,n], reduced in a fixed order (deterministic).
// With workspace = NULL the reduction over i is not split (fewer blocks, no scratch).
void outer_gemm_wgrad(void* stream, int64_t m, int64_t n_cols, const OuterFactors& f, const float* w, int64_t ldw,
                      const OuterRegions<float>& out, float* workspace);

}  // namespace dynrec::cuda
