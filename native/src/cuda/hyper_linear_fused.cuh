// hyper_linear on CUDA through the outer-product GEMM engine (outer_gemm.cuh):
// forward is one kernel, backward one elementwise kernel for the
// pre-activation gradient, two rows-form kernels (grad_x, grad_z) and one
// wgrad kernel + deterministic reduction for all four weight gradients.
// S = reshape(z g_w^T + g_b) is never materialized.
#pragma once

#include <cstdint>

namespace dynrec::cuda {

int64_t hyper_fused_workspace_bytes(int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond);

void hyper_fused_forward(void* stream, int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond, const float* x,
                         const float* z, const float* g_w, const float* g_b, const float* c_w, const float* c_b,
                         int32_t activation, float* y);

// `workspace` holds hyper_fused_workspace_bytes(...) bytes; y may be NULL when activation = NONE.
void hyper_fused_backward(void* stream, int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond, const float* x,
                          const float* z, const float* g_w, const float* g_b, const float* c_w, int32_t activation,
                          const float* y, const float* grad_y, float* grad_x, float* grad_z, float* grad_g_w,
                          float* grad_g_b, float* grad_c_w, float* grad_c_b, void* workspace);

}  // namespace dynrec::cuda
