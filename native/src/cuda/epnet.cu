// epnet on CUDA: the concat is never formed. Forward with fused epilogues
// (the default): two launches of our tiled GEMM, the first reading the
// concat column by column and applying bias + ReLU, the second applying
// bias + gamma*sigmoid and * E as it stores. Otherwise x w1^T is two cuBLAS
// SGEMMs over w1's domain and E column blocks (ldb = n_domain + n_emb, the
// second accumulating with beta = 1) and elementwise epilogues (grid-stride,
// one thread per element) apply bias + ReLU and bias + gamma*sigmoid, * E.
// Backward: d(a2) and grad_emb in one kernel, then SGEMMs (grad_w1 written
// block-wise through ldc) and deterministic column sums for the biases.
#include "common/math_mode.h"
#include "cuda/common.cuh"
#include "cuda/epnet.cuh"
#include "cuda/fused_dense.cuh"

namespace dynrec::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void bias_relu_kernel(int64_t n, int64_t cols, const float* __restrict__ b, float* __restrict__ h) {
    DYNREC_CUDA_FOR(t, n) {
        const float v = h[t] + (b ? b[t % cols] : 0.0f);
        h[t] = v > 0.0f ? v : 0.0f;
    }
}

// out holds a2 = hidden w2^T on entry.
__global__ void gate_output_kernel(int64_t n, int64_t cols, const float* __restrict__ b, float gamma,
                                   const float* __restrict__ emb, float* __restrict__ delta, float* __restrict__ out) {
    DYNREC_CUDA_FOR(t, n) {
        const float d = gamma / (1.0f + __expf(-(out[t] + (b ? b[t % cols] : 0.0f))));
        if (delta) delta[t] = d;
        out[t] = d * emb[t];
    }
}

__global__ void gate_grad_kernel(int64_t n, float gamma, const float* __restrict__ delta,
                                 const float* __restrict__ emb, const float* __restrict__ grad_out,
                                 float* __restrict__ grad_emb, float* __restrict__ da2) {
    DYNREC_CUDA_FOR(t, n) {
        const float d = delta[t];
        if (grad_emb) grad_emb[t] = d * grad_out[t];
        da2[t] = gamma == 0.0f ? 0.0f : grad_out[t] * emb[t] * d * (1.0f - d / gamma);
    }
}

__global__ void relu_mask_kernel(int64_t n, const float* __restrict__ hidden, float* __restrict__ da1) {
    DYNREC_CUDA_FOR(t, n) if (!(hidden[t] > 0.0f)) da1[t] = 0.0f;
}

}  // namespace

int64_t epnet_workspace_bytes(const EpnetShape& s) {
    return static_cast<int64_t>(sizeof(float)) * s.batch * (s.n_emb + s.n_hidden);
}

void epnet_forward(void* stream, const EpnetShape& s, const float* domain, const float* emb, const float* w1,
                   const float* b1, const float* w2, const float* b2, float gamma, float* hidden, float* delta,
                   float* out) {
    cudaStream_t st = as_stream(stream);
    const int64_t B = s.batch, nd = s.n_domain, ne = s.n_emb, nh = s.n_hidden, nin = s.n_gate_in();
    if (cuda_fused_epilogues_enabled()) {
        FusedDenseInput concat{domain, nd, 0};
        concat.x2 = emb;
        concat.ldx2 = ne;
        concat.k_split = nd;
        FusedDenseEpilogue relu;
        relu.activation = DYNREC_ACT_RELU;
        fused_dense_forward(stream, 1, B, nh, nin, concat, {w1, nin, 0, b1}, relu, hidden, nh);
        FusedDenseEpilogue gate;
        gate.gate_output = true;
        gate.gamma = gamma;
        gate.act_out = delta;  // may be NULL
        gate.out_gate = emb;
        gate.ld_out_gate = ne;
        fused_dense_forward(stream, 1, B, ne, nh, {hidden, nh, 0}, {w2, nh, 0, b2}, gate, out, ne);
        return;
    }
    sgemm(stream, false, true, B, nh, nd, 1.0f, domain, nd, w1, nin, 0.0f, hidden, nh);
    sgemm(stream, false, true, B, nh, ne, 1.0f, emb, ne, w1 + nd, nin, 1.0f, hidden, nh);
    bias_relu_kernel<<<blocks_for(B * nh, kThreads), kThreads, 0, st>>>(B * nh, nh, b1, hidden);
    check_launch("epnet bias_relu_kernel");
    sgemm(stream, false, true, B, ne, nh, 1.0f, hidden, nh, w2, nh, 0.0f, out, ne);
    gate_output_kernel<<<blocks_for(B * ne, kThreads), kThreads, 0, st>>>(B * ne, ne, b2, gamma, emb, delta, out);
    check_launch("epnet gate_output_kernel");
}

void epnet_backward(void* stream, const EpnetShape& s, const float* domain, const float* emb, const float* w1,
                    const float* w2, float gamma, const float* hidden, const float* delta, const float* grad_out,
                    float* grad_domain, float* grad_emb, float* grad_w1, float* grad_b1, float* grad_w2,
                    float* grad_b2, void* workspace) {
    cudaStream_t st = as_stream(stream);
    const int64_t B = s.batch, nd = s.n_domain, ne = s.n_emb, nh = s.n_hidden, nin = s.n_gate_in();
    float* da2 = static_cast<float*>(workspace);
    float* da1 = da2 + B * ne;
    gate_grad_kernel<<<blocks_for(B * ne, kThreads), kThreads, 0, st>>>(B * ne, gamma, delta, emb, grad_out,
                                                                        grad_emb, da2);
    check_launch("epnet gate_grad_kernel");
    if (grad_w2) sgemm(stream, true, false, ne, nh, B, 1.0f, da2, ne, hidden, nh, 0.0f, grad_w2, nh);
    if (grad_b2) column_sums(stream, B, ne, da2, grad_b2);
    if (!grad_domain && !grad_w1 && !grad_b1) return;
    sgemm(stream, false, false, B, nh, ne, 1.0f, da2, ne, w2, nh, 0.0f, da1, nh);
    relu_mask_kernel<<<blocks_for(B * nh, kThreads), kThreads, 0, st>>>(B * nh, hidden, da1);
    check_launch("epnet relu_mask_kernel");
    if (grad_w1) {
        sgemm(stream, true, false, nh, nd, B, 1.0f, da1, nh, domain, nd, 0.0f, grad_w1, nin);
        sgemm(stream, true, false, nh, ne, B, 1.0f, da1, nh, emb, ne, 0.0f, grad_w1 + nd, nin);
    }
    if (grad_b1) column_sums(stream, B, nh, da1, grad_b1);
    if (grad_domain) sgemm(stream, false, false, B, nd, nh, 1.0f, da1, nh, w1, nin, 0.0f, grad_domain, nd);
}

}  // namespace dynrec::cuda
