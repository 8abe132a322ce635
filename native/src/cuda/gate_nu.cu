// gate_nu on CUDA. Forward: with fused epilogues (the default) each dense
// step is one launch of our tiled GEMM that applies bias+ReLU and
// bias+sigmoid*gamma as it stores; otherwise cuBLAS SGEMMs each followed by
// one elementwise epilogue (grid-stride, one thread per element). Backward
// forms d(a2) in the workspace, then d(a1) masked by ReLU, and four GEMMs;
// bias grads are deterministic column sums.
// The forward has no workspace argument, so on CUDA `hidden` is required
// (the API layer rejects NULL there; dynrec.h says so).
#include "common/math_mode.h"
#include "cuda/common.cuh"
#include "cuda/fused_dense.cuh"
#include "cuda/gate_nu.cuh"

namespace dynrec::cuda {

namespace {

__global__ void bias_relu_kernel(int64_t n, int64_t cols, float* __restrict__ h, const float* __restrict__ b) {
    for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x) {
        const float v = h[t] + (b ? b[t % cols] : 0.0f);
        h[t] = v > 0.0f ? v : 0.0f;
    }
}

__global__ void bias_sigmoid_gamma_kernel(int64_t n, int64_t cols, float* __restrict__ d,
                                          const float* __restrict__ b, float gamma) {
    for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x) {
        const float v = d[t] + (b ? b[t % cols] : 0.0f);
        d[t] = gamma / (1.0f + __expf(-v));
    }
}

__global__ void gate_grad_kernel(int64_t n, const float* __restrict__ delta, const float* __restrict__ grad_delta,
                                 float gamma, float* __restrict__ da2) {
    for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x) {
        const float d = delta[t];
        da2[t] = gamma == 0.0f ? 0.0f : grad_delta[t] * d * (1.0f - d / gamma);
    }
}

__global__ void relu_mask_kernel(int64_t n, const float* __restrict__ hidden, float* __restrict__ da1) {
    for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x)
        if (!(hidden[t] > 0.0f)) da1[t] = 0.0f;
}

constexpr int kThreads = 256;

}  // namespace

int64_t gate_nu_workspace_bytes(int64_t batch, int64_t n_hidden, int64_t n_out) {
    return static_cast<int64_t>(sizeof(float)) * batch * (n_hidden + n_out);
}

void gate_nu_forward(void* stream, int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
                     const float* x, const float* w1, const float* b1, const float* w2,
                     const float* b2, float gamma, float* hidden, float* delta) {
    if (cuda_fused_epilogues_enabled()) {
        FusedDenseEpilogue relu;
        relu.activation = DYNREC_ACT_RELU;
        fused_dense_forward(stream, 1, batch, n_hidden, n_in, {x, n_in, 0}, {w1, n_in, 0, b1}, relu, hidden, n_hidden);
        FusedDenseEpilogue gate;
        gate.gate_output = true;
        gate.gamma = gamma;
        fused_dense_forward(stream, 1, batch, n_out, n_hidden, {hidden, n_hidden, 0}, {w2, n_hidden, 0, b2}, gate,
                            delta, n_out);
        return;
    }
    cudaStream_t s = as_stream(stream);
    sgemm(stream, false, true, batch, n_hidden, n_in, 1.0f, x, n_in, w1, n_in, 0.0f, hidden, n_hidden);
    bias_relu_kernel<<<blocks_for(batch * n_hidden, kThreads), kThreads, 0, s>>>(batch * n_hidden, n_hidden, hidden, b1);
    check_launch("bias_relu_kernel");
    sgemm(stream, false, true, batch, n_out, n_hidden, 1.0f, hidden, n_hidden, w2, n_hidden, 0.0f, delta, n_out);
    bias_sigmoid_gamma_kernel<<<blocks_for(batch * n_out, kThreads), kThreads, 0, s>>>(batch * n_out, n_out, delta, b2, gamma);
    check_launch("bias_sigmoid_gamma_kernel");
}

void gate_nu_backward(void* stream, int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
                      const float* x, const float* w1, const float* w2, float gamma,
                      const float* hidden, const float* delta, const float* grad_delta,
                      int64_t n_in_grad, float* grad_x, float* grad_w1, float* grad_b1, float* grad_w2,
                      float* grad_b2, void* workspace) {
    cudaStream_t s = as_stream(stream);
    float* da2 = static_cast<float*>(workspace);
    float* da1 = da2 + batch * n_out;
    gate_grad_kernel<<<blocks_for(batch * n_out, kThreads), kThreads, 0, s>>>(batch * n_out, delta, grad_delta, gamma, da2);
    check_launch("gate_grad_kernel");
    if (grad_w2) sgemm(stream, true, false, n_out, n_hidden, batch, 1.0f, da2, n_out, hidden, n_hidden, 0.0f, grad_w2, n_hidden);
    if (grad_b2) column_sums(stream, batch, n_out, da2, grad_b2);
    if (!grad_x && !grad_w1 && !grad_b1) return;
    sgemm(stream, false, false, batch, n_hidden, n_out, 1.0f, da2, n_out, w2, n_hidden, 0.0f, da1, n_hidden);
    relu_mask_kernel<<<blocks_for(batch * n_hidden, kThreads), kThreads, 0, s>>>(batch * n_hidden, hidden, da1);
    check_launch("relu_mask_kernel");
    if (grad_w1) sgemm(stream, true, false, n_hidden, n_in, batch, 1.0f, da1, n_hidden, x, n_in, 0.0f, grad_w1, n_in);
    if (grad_b1) column_sums(stream, batch, n_hidden, da1, grad_b1);
    // Only x's first n_in_grad columns (the rest is stop-gradient): d(a1) w1[:, :n_in_grad].
    if (grad_x)
        sgemm(stream, false, false, batch, n_in_grad, n_hidden, 1.0f, da1, n_hidden, w1, n_in, 0.0f, grad_x,
              n_in_grad);
}

}  // namespace dynrec::cuda
