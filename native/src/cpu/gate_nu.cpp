// Optimized gate_nu: two blocked GEMMs with the bias/ReLU and the
// bias/sigmoid*gamma epilogues fused into one pass over each output; the
// backward forms d(a2) and d(a1) in place and runs four GEMMs. Column sums
// (bias grads) are reduced per thread, then combined in a fixed order so the
// result does not depend on scheduling.
#include "cpu/gate_nu.h"

#include <vector>

#include "cpu/activation.h"
#include "cpu/gemm.h"
#include "cpu/parallel.h"
#include "cpu/reduce.h"

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
    sgemm(false, true, batch, n_hidden, n_in, 1.0f, x, n_in, w1, n_in, 0.0f, h, n_hidden);
    parallel_for(0, batch, 64, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            float* row = h + i * n_hidden;
            for (int64_t j = 0; j < n_hidden; ++j) {
                const float v = row[j] + (b1 ? b1[j] : 0.0f);
                row[j] = v > 0.0f ? v : 0.0f;
            }
        }
    });
    sgemm(false, true, batch, n_out, n_hidden, 1.0f, h, n_hidden, w2, n_hidden, 0.0f, delta, n_out);
    parallel_for(0, batch, 64, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            float* row = delta + i * n_out;
            for (int64_t o = 0; o < n_out; ++o) row[o] = gamma * sigmoidf(row[o] + (b2 ? b2[o] : 0.0f));
        }
    });
}

void gate_nu_backward(int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
                      const float* x, const float* w1, const float* w2, float gamma,
                      const float* hidden, const float* delta, const float* grad_delta,
                      float* grad_x, float* grad_w1, float* grad_b1, float* grad_w2,
                      float* grad_b2) {
    std::vector<float> da2(static_cast<size_t>(batch * n_out));
    parallel_for(0, batch, 64, [&](int64_t i0, int64_t i1) {
        for (int64_t t = i0 * n_out; t < i1 * n_out; ++t) {
            const float d = delta[t];
            da2[t] = gamma == 0.0f ? 0.0f : grad_delta[t] * d * (1.0f - d / gamma);
        }
    });
    if (grad_w2) sgemm(true, false, n_out, n_hidden, batch, 1.0f, da2.data(), n_out, hidden, n_hidden, 0.0f, grad_w2, n_hidden);
    if (grad_b2) column_sums(batch, n_out, da2.data(), grad_b2);
    if (!grad_x && !grad_w1 && !grad_b1) return;

    std::vector<float> da1(static_cast<size_t>(batch * n_hidden));
    sgemm(false, false, batch, n_hidden, n_out, 1.0f, da2.data(), n_out, w2, n_hidden, 0.0f, da1.data(), n_hidden);
    parallel_for(0, batch, 64, [&](int64_t i0, int64_t i1) {
        for (int64_t t = i0 * n_hidden; t < i1 * n_hidden; ++t)
            if (!(hidden[t] > 0.0f)) da1[t] = 0.0f;
    });
    if (grad_w1) sgemm(true, false, n_hidden, n_in, batch, 1.0f, da1.data(), n_hidden, x, n_in, 0.0f, grad_w1, n_in);
    if (grad_b1) column_sums(batch, n_hidden, da1.data(), grad_b1);
    if (grad_x) sgemm(false, false, batch, n_in, n_hidden, 1.0f, da1.data(), n_hidden, w1, n_in, 0.0f, grad_x, n_in);
}

}  // namespace dynrec::cpu
