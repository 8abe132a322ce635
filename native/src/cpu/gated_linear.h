// gated_linear on the CPU (PPNet layer, tower-batched): for each tower t,
//   OUTPUT gate: y_t = delta_t * act(x_t W_t^T + b_t)
//   INPUT gate:  y_t = act((delta_t * x_t) W_t^T + b_t)
// (* elementwise; delta_t = columns t*n_gate.. of delta; x_t = x when shared).
// *_reference: naive loops, the spec. Unsuffixed: optimized (packed GEMM with
// the gate fused into the operand packing or the epilogue, OpenMP). Same
// arguments; everything is pre-validated by the API layer.
#pragma once

#include <cstdint>

#include "common/shapes.h"

namespace dynrec::cpu {

void gated_linear_forward_reference(const GatedLinearShape& s, const float* x, const float* w, const float* b,
                                    const float* delta, float* act_out, float* y);
void gated_linear_forward(const GatedLinearShape& s, const float* x, const float* w, const float* b,
                          const float* delta, float* act_out, float* y);

// act_out = act(pre-activation) as the forward wrote it (for the INPUT gate
// that is y). Any grad_* may be NULL; the others are overwritten.
void gated_linear_backward_reference(const GatedLinearShape& s, const float* x, const float* w,
                                     const float* delta, const float* act_out, const float* grad_y,
                                     float* grad_x, float* grad_w, float* grad_b, float* grad_delta);
void gated_linear_backward(const GatedLinearShape& s, const float* x, const float* w, const float* delta,
                           const float* act_out, const float* grad_y, float* grad_x, float* grad_w,
                           float* grad_b, float* grad_delta);

}  // namespace dynrec::cpu
