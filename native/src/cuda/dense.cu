// Dense layer pieces on CUDA. Forward: with fused epilogues (the default) one
// launch of the tiled GEMM applying bias + activation as it stores; otherwise
// a cuBLAS SGEMM plus one elementwise kernel (grid-stride, one thread per
// element). Backward: cuBLAS SGEMMs, the activation derivative as one
// elementwise kernel, bias gradients as deterministic column sums.
#include "common/math_mode.h"
#include "cuda/common.cuh"
#include "cuda/dense.cuh"
#include "cuda/fused_dense.cuh"

namespace dynrec::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void bias_activation_kernel(int64_t n, int64_t cols, const float* __restrict__ b, int32_t act,
                                       float* __restrict__ y) {
    DYNREC_CUDA_FOR(t, n) y[t] = activate_dev(act, y[t] + (b ? b[t % cols] : 0.0f));
}

__global__ void mul_activation_grad_kernel(int64_t n, int32_t act, const float* __restrict__ y,
                                           float* __restrict__ g) {
    DYNREC_CUDA_FOR(t, n) g[t] *= activation_grad_dev(act, y[t]);
}

__global__ void activation_grad_kernel(int64_t n, int32_t act, const float* __restrict__ y,
                                       const float* __restrict__ grad_y, float* __restrict__ out) {
    DYNREC_CUDA_FOR(t, n) out[t] = grad_y[t] * activation_grad_dev(act, y[t]);
}

}  // namespace

void activation_grad(void* stream, int64_t n, int32_t activation, const float* y, const float* grad_y, float* out) {
    activation_grad_kernel<<<blocks_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(n, activation, y, grad_y,
                                                                                         out);
    check_launch("activation_grad_kernel");
}

void mul_activation_grad(void* stream, int64_t n, int32_t activation, const float* y, float* g) {
    if (activation == DYNREC_ACT_NONE) return;
    mul_activation_grad_kernel<<<blocks_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(n, activation, y, g);
    check_launch("mul_activation_grad_kernel");
}

void dense_forward(void* stream, int64_t batch, int64_t n_in, int64_t n_out, const float* x, const float* w,
                   const float* b, int32_t activation, float* y) {
    if (cuda_fused_epilogues_enabled()) {
        FusedDenseEpilogue e;
        e.activation = activation;
        fused_dense_forward(stream, 1, batch, n_out, n_in, {x, n_in, 0}, {w, n_in, 0, b}, e, y, n_out);
        return;
    }
    sgemm(stream, false, true, batch, n_out, n_in, 1.0f, x, n_in, w, n_in, 0.0f, y, n_out);
    if (b == nullptr && activation == DYNREC_ACT_NONE) return;
    bias_activation_kernel<<<blocks_for(batch * n_out, kThreads), kThreads, 0, as_stream(stream)>>>(
        batch * n_out, n_out, b, activation, y);
    check_launch("bias_activation_kernel");
}

void dense_backward_pre(void* stream, int64_t batch, int64_t n_in, int64_t n_out, const float* x, const float* w,
                        const float* gpre, float* grad_x, float* grad_w, float* grad_b, int32_t x_activation) {
    if (grad_w) sgemm(stream, true, false, n_out, n_in, batch, 1.0f, gpre, n_out, x, n_in, 0.0f, grad_w, n_in);
    if (grad_b) column_sums(stream, batch, n_out, gpre, grad_b);
    if (!grad_x) return;
    sgemm(stream, false, false, batch, n_in, n_out, 1.0f, gpre, n_out, w, n_in, 0.0f, grad_x, n_in);
    mul_activation_grad(stream, batch * n_in, x_activation, x, grad_x);
}

}  // namespace dynrec::cuda
