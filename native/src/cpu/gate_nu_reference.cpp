// The spec of gate_nu: plain loops, double accumulation, one thread.
#include <cmath>
#include <vector>

#include "cpu/activation.h"
#include "cpu/gate_nu.h"

namespace dynrec::cpu {

void gate_nu_forward_reference(int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
                               const float* x, const float* w1, const float* b1, const float* w2,
                               const float* b2, float gamma, float* hidden, float* delta) {
    std::vector<float> h(static_cast<size_t>(n_hidden));
    for (int64_t i = 0; i < batch; ++i) {
        for (int64_t j = 0; j < n_hidden; ++j) {
            double s = b1 ? b1[j] : 0.0;
            for (int64_t p = 0; p < n_in; ++p) s += double(x[i * n_in + p]) * w1[j * n_in + p];
            h[j] = s > 0.0 ? float(s) : 0.0f;
            if (hidden) hidden[i * n_hidden + j] = h[j];
        }
        for (int64_t o = 0; o < n_out; ++o) {
            double s = b2 ? b2[o] : 0.0;
            for (int64_t j = 0; j < n_hidden; ++j) s += double(h[j]) * w2[o * n_hidden + j];
            delta[i * n_out + o] = gamma * sigmoidf(float(s));
        }
    }
}

void gate_nu_backward_reference(int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
                                const float* x, const float* w1, const float* w2, float gamma,
                                const float* hidden, const float* delta, const float* grad_delta,
                                int64_t n_in_grad, float* grad_x, float* grad_w1, float* grad_b1, float* grad_w2,
                                float* grad_b2) {
    std::vector<double> gw1(grad_w1 ? n_hidden * n_in : 0), gb1(grad_b1 ? n_hidden : 0);
    std::vector<double> gw2(grad_w2 ? n_out * n_hidden : 0), gb2(grad_b2 ? n_out : 0);
    std::vector<double> da2(static_cast<size_t>(n_out)), da1(static_cast<size_t>(n_hidden));
    for (int64_t i = 0; i < batch; ++i) {
        for (int64_t o = 0; o < n_out; ++o) {
            // d delta / d a2 = gamma * s (1 - s) with s = delta / gamma.
            const double d = delta[i * n_out + o];
            da2[o] = gamma == 0.0f ? 0.0 : grad_delta[i * n_out + o] * d * (1.0 - d / gamma);
            if (grad_b2) gb2[o] += da2[o];
            if (grad_w2)
                for (int64_t j = 0; j < n_hidden; ++j) gw2[o * n_hidden + j] += da2[o] * hidden[i * n_hidden + j];
        }
        for (int64_t j = 0; j < n_hidden; ++j) {
            double s = 0.0;
            for (int64_t o = 0; o < n_out; ++o) s += da2[o] * w2[o * n_hidden + j];
            da1[j] = hidden[i * n_hidden + j] > 0.0f ? s : 0.0;
            if (grad_b1) gb1[j] += da1[j];
            if (grad_w1)
                for (int64_t p = 0; p < n_in; ++p) gw1[j * n_in + p] += da1[j] * x[i * n_in + p];
        }
        if (grad_x)
            for (int64_t p = 0; p < n_in_grad; ++p) {
                double s = 0.0;
                for (int64_t j = 0; j < n_hidden; ++j) s += da1[j] * w1[j * n_in + p];
                grad_x[i * n_in_grad + p] = float(s);
            }
    }
    for (size_t t = 0; t < gw1.size(); ++t) grad_w1[t] = float(gw1[t]);
    for (size_t t = 0; t < gb1.size(); ++t) grad_b1[t] = float(gb1[t]);
    for (size_t t = 0; t < gw2.size(); ++t) grad_w2[t] = float(gw2[t]);
    for (size_t t = 0; t < gb2.size(); ++t) grad_b2[t] = float(gb2[t]);
}

}  // namespace dynrec::cpu
