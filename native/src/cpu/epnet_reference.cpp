// The spec of epnet: gate_nu over an explicit concat(domain, E) row, then
// out = delta * E; double accumulation, one thread. The backward follows the
// stop-gradient: E gets only the direct path delta * grad_out.
#include <vector>

#include "cpu/activation.h"
#include "cpu/epnet.h"

namespace dynrec::cpu {

void epnet_forward_reference(const EpnetShape& s, const float* domain, const float* emb, const float* w1,
                             const float* b1, const float* w2, const float* b2, float gamma, float* hidden,
                             float* delta, float* out) {
    const int64_t nd = s.n_domain, ne = s.n_emb, nh = s.n_hidden, nin = s.n_gate_in();
    std::vector<double> in(static_cast<size_t>(nin));
    std::vector<float> h(static_cast<size_t>(nh));
    for (int64_t i = 0; i < s.batch; ++i) {
        for (int64_t p = 0; p < nd; ++p) in[p] = domain[i * nd + p];
        for (int64_t p = 0; p < ne; ++p) in[nd + p] = emb[i * ne + p];
        for (int64_t j = 0; j < nh; ++j) {
            double v = b1 ? b1[j] : 0.0;
            for (int64_t p = 0; p < nin; ++p) v += in[p] * w1[j * nin + p];
            h[j] = v > 0.0 ? float(v) : 0.0f;
            if (hidden) hidden[i * nh + j] = h[j];
        }
        for (int64_t o = 0; o < ne; ++o) {
            double v = b2 ? b2[o] : 0.0;
            for (int64_t j = 0; j < nh; ++j) v += double(h[j]) * w2[o * nh + j];
            const float d = gamma * sigmoidf(float(v));
            if (delta) delta[i * ne + o] = d;
            out[i * ne + o] = d * emb[i * ne + o];
        }
    }
}

void epnet_backward_reference(const EpnetShape& s, const float* domain, const float* emb, const float* w1,
                              const float* w2, float gamma, const float* hidden, const float* delta,
                              const float* grad_out, float* grad_domain, float* grad_emb, float* grad_w1,
                              float* grad_b1, float* grad_w2, float* grad_b2) {
    const int64_t nd = s.n_domain, ne = s.n_emb, nh = s.n_hidden, nin = s.n_gate_in();
    std::vector<double> gw1(grad_w1 ? nh * nin : 0), gb1(grad_b1 ? nh : 0);
    std::vector<double> gw2(grad_w2 ? ne * nh : 0), gb2(grad_b2 ? ne : 0);
    std::vector<double> da2(static_cast<size_t>(ne)), da1(static_cast<size_t>(nh)), in(static_cast<size_t>(nin));
    for (int64_t i = 0; i < s.batch; ++i) {
        for (int64_t p = 0; p < nd; ++p) in[p] = domain[i * nd + p];
        for (int64_t p = 0; p < ne; ++p) in[nd + p] = emb[i * ne + p];
        for (int64_t o = 0; o < ne; ++o) {
            const int64_t at = i * ne + o;
            if (grad_emb) grad_emb[at] = delta[at] * grad_out[at];
            // d out / d delta = E; d delta / d a2 = gamma s (1 - s), s = delta / gamma.
            const double d = delta[at];
            da2[o] = gamma == 0.0f ? 0.0 : double(grad_out[at]) * emb[at] * d * (1.0 - d / gamma);
            if (grad_b2) gb2[o] += da2[o];
            if (grad_w2)
                for (int64_t j = 0; j < nh; ++j) gw2[o * nh + j] += da2[o] * hidden[i * nh + j];
        }
        for (int64_t j = 0; j < nh; ++j) {
            double v = 0.0;
            for (int64_t o = 0; o < ne; ++o) v += da2[o] * w2[o * nh + j];
            da1[j] = hidden[i * nh + j] > 0.0f ? v : 0.0;
            if (grad_b1) gb1[j] += da1[j];
            if (grad_w1)
                for (int64_t p = 0; p < nin; ++p) gw1[j * nin + p] += da1[j] * in[p];
        }
        if (grad_domain)
            for (int64_t p = 0; p < nd; ++p) {
                double v = 0.0;
                for (int64_t j = 0; j < nh; ++j) v += da1[j] * w1[j * nin + p];
                grad_domain[i * nd + p] = float(v);
            }
    }
    for (size_t k = 0; k < gw1.size(); ++k) grad_w1[k] = float(gw1[k]);
    for (size_t k = 0; k < gb1.size(); ++k) grad_b1[k] = float(gb1[k]);
    for (size_t k = 0; k < gw2.size(); ++k) grad_w2[k] = float(gw2[k]);
    for (size_t k = 0; k < gb2.size(); ++k) grad_b2[k] = float(gb2[k]);
}

}  // namespace dynrec::cpu
