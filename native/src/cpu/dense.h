// A dense layer y = act(x W^T + b) (W [n_out, n_in]) as a building block of
// the chained ops (apg_layer). Internal: not exported by itself.
#pragma once

#include <cstdint>

namespace dynrec::cpu {

// Optimized: one gemm_rows with bias + activation in the row-tile epilogue.
void dense_forward(int64_t batch, int64_t n_in, int64_t n_out, const float* x, const float* w, const float* b,
                   int32_t activation, float* y);

// The same with y = gamma * sigmoid(x W^T + b): a gate's output layer.
void dense_forward_gate(int64_t batch, int64_t n_in, int64_t n_out, const float* x, const float* w, const float* b,
                        float gamma, float* y);

// From gpre = dL/d(pre-activation) [batch, n_out]: grad_w = gpre^T x,
// grad_b = column sums of gpre (deterministic), grad_x = (gpre W) * act'(x)
// for `x_activation` (x being the previous step's activation output; NONE
// = plain). Any output may be NULL.
void dense_backward_pre(int64_t batch, int64_t n_in, int64_t n_out, const float* x, const float* w,
                        const float* gpre, float* grad_x, float* grad_w, float* grad_b, int32_t x_activation);

// Naive loops (double accumulation), the spec of the two above; grad_x is plain.
void dense_forward_reference(int64_t batch, int64_t n_in, int64_t n_out, const float* x, const float* w,
                             const float* b, int32_t activation, float* y);
void dense_backward_pre_reference(int64_t batch, int64_t n_in, int64_t n_out, const float* x, const float* w,
                                  const float* gpre, float* grad_x, float* grad_w, float* grad_b);

}  // namespace dynrec::cpu
