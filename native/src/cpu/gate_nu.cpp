// Optimized gate_nu as two dense layers (dense.h): blocked GEMMs with the
// bias/ReLU and the bias/sigmoid*gamma epilogues run on each block of output
// rows while it is in cache (the sigmoid vectorized, vector_math.h); the
// backward forms d(a2) in one pass, then each layer's weight, bias and input
// gradients, the ReLU derivative fused into the d(a1) GEMM's epilogue.
// Column sums (bias grads) are combined in a fixed order, so the result does
// not depend on scheduling.
#include "cpu/gate_nu.h"

#include <cstring>
#include <vector>

#include "cpu/dense.h"
#include "cpu/gemm.h"
#include "cpu/parallel.h"
#include "dynrec/dynrec.h"

namespace dynrec::cpu {

void gate_nu_forward(int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
                     const float* x, const float* w1, const float* b1, const float* w2,
                     const float* b2, float gamma, float* hidden, float* delta) {
    std::vector<float> scratch;
    float* h = hidden;
    if (h == nullptr) {
        scratch.resize(static_cast<size_t>(batch * n_hidden));
        h = scratch.data();
    }
    dense_forward(batch, n_in, n_hidden, x, w1, b1, DYNREC_ACT_RELU, h);
    dense_forward_gate(batch, n_hidden, n_out, h, w2, b2, gamma, delta);
}

void gate_nu_backward(int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
                      const float* x, const float* w1, const float* w2, float gamma,
                      const float* hidden, const float* delta, const float* grad_delta,
                      int64_t n_in_grad, float* grad_x, float* grad_w1, float* grad_b1, float* grad_w2,
                      float* grad_b2) {
    // d(a2) = g * gamma * s * (1 - s) with delta = gamma * s.
    std::vector<float> da2(static_cast<size_t>(batch * n_out));
    parallel_for(0, batch, 64, [&](int64_t i0, int64_t i1) {
        float* out = da2.data();
        if (gamma == 0.0f) {
            std::memset(out + i0 * n_out, 0, static_cast<size_t>((i1 - i0) * n_out) * sizeof(float));
            return;
        }
        for (int64_t t = i0 * n_out; t < i1 * n_out; ++t) {
            const float d = delta[t];
            out[t] = grad_delta[t] * d * (1.0f - d / gamma);
        }
    });
    const bool input_side = grad_x || grad_w1 || grad_b1;
    std::vector<float> da1(input_side ? static_cast<size_t>(batch * n_hidden) : 0);
    // Layer 2 (hidden -> delta): its input gradient is d(a1), masked by ReLU'(hidden).
    dense_backward_pre(batch, n_hidden, n_out, hidden, w2, da2.data(), input_side ? da1.data() : nullptr, grad_w2,
                       grad_b2, DYNREC_ACT_RELU);
    if (!input_side) return;
    dense_backward_pre(batch, n_in, n_hidden, x, w1, da1.data(), nullptr, grad_w1, grad_b1, DYNREC_ACT_NONE);
    // grad_x = d(a1) w1[:, :n_in_grad]: the stop-gradient columns are never formed.
    if (grad_x)
        sgemm(false, false, batch, n_in_grad, n_hidden, 1.0f, da1.data(), n_hidden, w1, n_in, 0.0f, grad_x,
              n_in_grad);
}

}  // namespace dynrec::cpu
