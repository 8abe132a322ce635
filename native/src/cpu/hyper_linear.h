// hyper_linear on the CPU: per row i, S_i = reshape(z_i g_w^T + g_b, [n_in,
// n_out]), y_i = act(x_i S_i + z_i c_w^T + c_b).
// *_reference: materializes S_i row by row (the spec). Unsuffixed:
// optimized: S never formed (hyper_linear.cpp; small batches take
// hyper_materialized.h, which regroups the products around x g_w). Arguments are
// pre-validated; y may be NULL in backward only when activation is NONE.
#pragma once

#include <cstdint>

#include "common/shapes.h"

namespace dynrec::cpu {

void hyper_linear_forward_reference(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                                    const float* g_b, const float* c_w, const float* c_b, int32_t activation,
                                    float* y);
void hyper_linear_forward(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                          const float* g_b, const float* c_w, const float* c_b, int32_t activation, float* y);

void hyper_linear_backward_reference(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                                     const float* g_b, const float* c_w, int32_t activation, const float* y,
                                     const float* grad_y, const HyperLinearGrads& grads);
void hyper_linear_backward(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                           const float* g_b, const float* c_w, int32_t activation, const float* y,
                           const float* grad_y, const HyperLinearGrads& grads);

// The backward from gpre = dL/d(pre-activation) [batch, n_out], for chains
// (apg_layer): grad_x is multiplied by act'(x) of `x_activation` (x being
// the previous step's activation output; NONE = plain grad_x) and grad_z is
// added to (not overwritten) when `accumulate_z`.
void hyper_linear_backward_pre(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                               const float* g_b, const float* c_w, const float* gpre, const HyperLinearGrads& grads,
                               int32_t x_activation, bool accumulate_z);
// Reference twin of hyper_linear_backward_pre (plain grad_x, overwritten grad_z).
void hyper_linear_backward_pre_reference(const HyperLinearShape& s, const float* x, const float* z,
                                         const float* g_w, const float* g_b, const float* c_w, const float* gpre,
                                         const HyperLinearGrads& grads);

// Orientation of the weight-gradient GEMM for n_z rows of z~ (n_cond, +1 with
// the g_b bias), n_a of x~ (n_in, +1 with c_w) and n_out: true = the rows of
// z~ (x) x~ times gpre, false = z~^T times x~ (x) gpre. Exposed so tests can
// check that their shapes reach both.
bool weight_grad_by_rows(int64_t n_z, int64_t n_a, int64_t n_out);

// Whether hyper_linear_forward / _backward_pre take the materialized path
// (hyper_materialized.h) for this shape. Exposed so tests reach both paths.
bool hyper_linear_materialized(const HyperLinearShape& s);

}  // namespace dynrec::cpu
