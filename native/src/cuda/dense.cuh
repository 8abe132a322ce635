// A dense layer on CUDA as a building block of the chained ops (apg_layer);
// `stream` is a cudaStream_t. Same contract as cpu/dense.h.
#pragma once

#include <cstdint>

namespace dynrec::cuda {

// y = act(x W^T + b); W [n_out, n_in], b may be NULL.
void dense_forward(void* stream, int64_t batch, int64_t n_in, int64_t n_out, const float* x, const float* w,
                   const float* b, int32_t activation, float* y);

// From gpre [batch, n_out]: grad_w = gpre^T x, grad_b = column sums,
// grad_x = (gpre W) * act'(x) for `x_activation`. Any output may be NULL.
void dense_backward_pre(void* stream, int64_t batch, int64_t n_in, int64_t n_out, const float* x, const float* w,
                        const float* gpre, float* grad_x, float* grad_w, float* grad_b, int32_t x_activation);

// g[e] *= act'(y[e]) for e < n (y = the activation's output).
void mul_activation_grad(void* stream, int64_t n, int32_t activation, const float* y, float* g);

// out[e] = grad_y[e] * act'(y[e]) for e < n: the pre-activation gradient in one pass (activation != NONE).
void activation_grad(void* stream, int64_t n, int32_t activation, const float* y, const float* grad_y, float* out);

}  // namespace dynrec::cuda
