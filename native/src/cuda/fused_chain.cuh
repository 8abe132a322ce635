// The fused path of apg_layer and hyper_linear (DYNREC_HYPER_PATH_FUSED): a
// chain of dense and generated (hyper_linear) steps run for a block of rows
// at a time inside one kernel, every intermediate in shared memory, the
// generated weight S_i = reshape(z_i g_w^T) formed tile by tile in shared
// memory and used at once (never written out). Backward: one per-row kernel
// (every pre-activation gradient, grad_x, grad_z), then the weight gradients
// over the batch (the outer-product wgrad GEMM, for dense steps too: the bias
// gradient is its ones column). The per-row kernels form S and grad_z's sum
// over S's entries on TF32 tensor cores when TF32 is on, and are exact FP32
// FMAs otherwise; the launches it saves are what the chain of per-step ops
// spends its time on at batch 4096.
// Declarations usable from plain C++; `stream` is a cudaStream_t.
#pragma once

#include <cstdint>

namespace dynrec::cuda {

constexpr int kFusedMaxSteps = 5;

// One step: dense (w = W [n_out, n_in], b = bias) or generated (w = g_w
// [n_in*n_out, n_cond], b = g_b, c_w [n_out, n_cond], c_b), then `activation`.
struct FusedStep {
    bool generated;
    int64_t n_in, n_out;
    int32_t activation;
    const float *w, *b, *c_w, *c_b;
    float* out;  // the step's output [batch, n_out] (forward writes it; backward reads it)
};

// Where one step's weight gradients go (NULL: not wanted).
struct FusedStepGrads {
    float *w, *b, *c_w, *c_b;
};

struct FusedChain {
    int64_t batch, n_cond;
    int n_steps;
    const float* x;  // [batch, steps[0].n_in]
    const float* z;  // [batch, n_cond]
    FusedStep steps[kFusedMaxSteps];
};

// Whether the chain fits the fused kernels (every width and n_cond <= 256, at most 5 steps).
bool fused_chain_fits(const FusedChain& c);

// Floats of scratch fused_chain_backward takes: each step's pre-activation
// gradient [batch, n_out], then the weight-gradient GEMMs' split-K sums.
int64_t fused_chain_workspace_floats(const FusedChain& c);

// Writes every step's `out` (the last one is the chain's output).
void fused_chain_forward(void* stream, const FusedChain& c);

// From grad_y [batch, last n_out] and the forward's outputs; grad_x / grad_z
// (NULL: not wanted) are overwritten; so are the wanted weight gradients.
void fused_chain_backward(void* stream, const FusedChain& c, const float* grad_y, float* grad_x, float* grad_z,
                          const FusedStepGrads* grads, float* workspace);

}  // namespace dynrec::cuda
