// hyper_linear on CUDA (declarations usable from plain C++; `stream` is a
// cudaStream_t). Arguments are validated by the API layer.
#pragma once

#include <cstdint>

#include "common/shapes.h"

namespace dynrec::cuda {

// Split-K scratch of the outer-product GEMMs (forward and hyper_linear_backward_pre).
int64_t hyper_linear_pre_workspace_bytes(const HyperLinearShape& s);

// The op's scratch: gpre [batch, n_out] (backward) + hyper_linear_pre_workspace_bytes.
int64_t hyper_linear_workspace_bytes(const HyperLinearShape& s);

// `workspace` (at least hyper_linear_pre_workspace_bytes) may be NULL: the GEMM then runs unsplit;
// with rows_per_cond > 1 (the materialized path, S once per condition row) it is required.
void hyper_linear_forward(void* stream, const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                          const float* g_b, const float* c_w, const float* c_b, int32_t activation, float* y,
                          void* workspace);

void hyper_linear_backward(void* stream, const HyperLinearShape& s, const float* x, const float* z,
                           const float* g_w, const float* g_b, const float* c_w, int32_t activation, const float* y,
                           const float* grad_y, const HyperLinearGrads& grads, void* workspace);

// From gpre = dL/d(pre-activation) (device, [batch, n_out]); grad_x is
// multiplied by act'(x) for `x_activation`, grad_z added to when
// `accumulate_z` (chains: apg_layer). `workspace` (hyper_linear_pre_workspace_bytes)
// may be NULL: the GEMMs then run unsplit (fewer blocks).
void hyper_linear_backward_pre(void* stream, const HyperLinearShape& s, const float* x, const float* z,
                               const float* g_w, const float* g_b, const float* c_w, const float* gpre,
                               const HyperLinearGrads& grads, int32_t x_activation, bool accumulate_z,
                               void* workspace = nullptr);

// The four weight gradients of g (x and z ignored) from gpre, one outer-product
// wgrad GEMM; `workspace` (outer_gemm_wgrad_workspace_floats) may be NULL: unsplit.
void hyper_linear_weight_grads(void* stream, const HyperLinearShape& s, const float* x, const float* z,
                               const float* gpre, const HyperLinearGrads& g, void* workspace);

}  // namespace dynrec::cuda
