// The spec of a dense layer: plain loops, double accumulation, one thread.
#include <vector>

#include "cpu/activation.h"
#include "cpu/dense.h"

namespace dynrec::cpu {

void dense_forward_reference(int64_t batch, int64_t n_in, int64_t n_out, const float* x, const float* w,
                             const float* b, int32_t activation, float* y) {
    for (int64_t i = 0; i < batch; ++i)
        for (int64_t o = 0; o < n_out; ++o) {
            double v = b ? b[o] : 0.0;
            for (int64_t p = 0; p < n_in; ++p) v += double(x[i * n_in + p]) * w[o * n_in + p];
            y[i * n_out + o] = activate(activation, float(v));
        }
}

void dense_backward_pre_reference(int64_t batch, int64_t n_in, int64_t n_out, const float* x, const float* w,
                                  const float* gpre, float* grad_x, float* grad_w, float* grad_b) {
    std::vector<double> gw(grad_w ? n_out * n_in : 0), gb(grad_b ? n_out : 0);
    for (int64_t i = 0; i < batch; ++i) {
        for (int64_t o = 0; o < n_out; ++o) {
            const double g = gpre[i * n_out + o];
            if (grad_b) gb[o] += g;
            if (grad_w)
                for (int64_t p = 0; p < n_in; ++p) gw[o * n_in + p] += g * x[i * n_in + p];
        }
        if (grad_x)
            for (int64_t p = 0; p < n_in; ++p) {
                double v = 0.0;
                for (int64_t o = 0; o < n_out; ++o) v += double(gpre[i * n_out + o]) * w[o * n_in + p];
                grad_x[i * n_in + p] = float(v);
            }
    }
    for (size_t k = 0; k < gw.size(); ++k) grad_w[k] = float(gw[k]);
    for (size_t k = 0; k < gb.size(); ++k) grad_b[k] = float(gb[k]);
}

}  // namespace dynrec::cpu
