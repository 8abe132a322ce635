// hyper_linear on CUDA (declarations usable from plain C++; `stream` is a
// cudaStream_t). Arguments are validated by the API layer.
#pragma once

#include <cstdint>

#include "common/shapes.h"

namespace dynrec::cuda {

// Backward scratch: gpre [batch, n_out].
int64_t hyper_linear_workspace_bytes(const HyperLinearShape& s);

// Needs no scratch (the forward has no workspace argument).
void hyper_linear_forward(void* stream, const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                          const float* g_b, const float* c_w, const float* c_b, int32_t activation, float* y);

void hyper_linear_backward(void* stream, const HyperLinearShape& s, const float* x, const float* z,
                           const float* g_w, const float* g_b, const float* c_w, int32_t activation, const float* y,
                           const float* grad_y, const HyperLinearGrads& grads, void* workspace);

// From gpre = dL/d(pre-activation) (device, [batch, n_out]); grad_x is
// multiplied by act'(x) for `x_activation`, grad_z added to when
// `accumulate_z` (chains: apg_layer). Needs no scratch.
void hyper_linear_backward_pre(void* stream, const HyperLinearShape& s, const float* x, const float* z,
                               const float* g_w, const float* g_b, const float* c_w, const float* gpre,
                               const HyperLinearGrads& grads, int32_t x_activation, bool accumulate_z);

}  // namespace dynrec::cuda
