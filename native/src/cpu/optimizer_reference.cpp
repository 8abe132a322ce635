// Multi-tensor Adam reference: plain loops in PyTorch's single-tensor order
// (weight decay, moments, bias-corrected denominator, addcdiv).
#include <algorithm>
#include <cmath>

#include "cpu/optimizer.h"

namespace dynrec::cpu {

AdamScalars adam_scalars(const AdamConfig& c) {
    const double bc1 = 1.0 - std::pow(c.beta1, double(c.step));
    const double bc2 = 1.0 - std::pow(c.beta2, double(c.step));
    AdamScalars s{};
    s.beta1 = float(c.beta1);
    s.one_minus_beta1 = float(1.0 - c.beta1);
    s.beta2 = float(c.beta2);
    s.one_minus_beta2 = float(1.0 - c.beta2);
    s.bc2_sqrt = float(std::sqrt(bc2));
    s.eps = float(c.eps);
    s.step_size = float(c.lr / bc1);
    s.decay = c.decoupled ? float(1.0 - c.lr * c.weight_decay) : 1.0f;
    s.l2 = c.decoupled ? 0.0f : float(c.weight_decay);
    return s;
}

float clip_coefficient(double max_grad_norm, double norm) {
    if (!(max_grad_norm > 0.0)) return 1.0f;
    return float(std::min(1.0, max_grad_norm / (norm + 1e-6)));
}

void adam_step_reference(int64_t n, float* const* params, const float* const* grads, float* const* exp_avgs,
                         float* const* exp_avg_sqs, const int64_t* numels, const AdamConfig& c, float* grad_norm_out) {
    float clip = 1.0f;
    if (c.max_grad_norm > 0.0) {
        double sq = 0.0;
        for (int64_t t = 0; t < n; ++t)
            for (int64_t i = 0; i < numels[t]; ++i) sq += double(grads[t][i]) * double(grads[t][i]);
        const double norm = std::sqrt(sq);
        clip = clip_coefficient(c.max_grad_norm, norm);
        if (grad_norm_out) *grad_norm_out = float(norm);
    }
    const AdamScalars s = adam_scalars(c);
    for (int64_t t = 0; t < n; ++t) {
        float *p = params[t], *m = exp_avgs[t], *v = exp_avg_sqs[t];
        const float* gr = grads[t];
        for (int64_t i = 0; i < numels[t]; ++i) {
            float g = gr[i] * clip;
            if (c.decoupled) p[i] = p[i] * s.decay;
            else if (c.weight_decay != 0.0) g = g + s.l2 * p[i];
            m[i] = m[i] * s.beta1 + s.one_minus_beta1 * g;
            v[i] = v[i] * s.beta2 + s.one_minus_beta2 * g * g;
            const float denom = std::sqrt(v[i]) / s.bc2_sqrt + s.eps;
            p[i] = p[i] + (-s.step_size) * (m[i] / denom);
        }
    }
}

}  // namespace dynrec::cpu
