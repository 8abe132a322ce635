// gated_linear on CUDA (declarations usable from plain C++; `stream` is a
// cudaStream_t). Arguments are validated by the API layer.
#pragma once

#include <cstdint>

#include "common/shapes.h"

namespace dynrec::cuda {

// Scratch for forward (INPUT gate: delta_t * x_t) and backward (gpre and
// the per-tower input gradient), in bytes.
int64_t gated_linear_workspace_bytes(const GatedLinearShape& s);

void gated_linear_forward(void* stream, const GatedLinearShape& s, const float* x, const float* w, const float* b,
                          const float* delta, float* act_out, float* y, void* workspace);

void gated_linear_backward(void* stream, const GatedLinearShape& s, const float* x, const float* w,
                           const float* delta, const float* act_out, const float* grad_y, float* grad_x,
                           float* grad_w, float* grad_b, float* grad_delta, void* workspace);

}  // namespace dynrec::cuda
