// The spec of gated_linear: plain loops, double accumulation, one thread.
#include <algorithm>
#include <vector>

#include "cpu/activation.h"
#include "cpu/gated_linear.h"

namespace dynrec::cpu {

namespace {
// The layer input of tower t, row i, as the GEMM sees it (gated for INPUT).
void layer_input(const GatedLinearShape& s, const float* x, const float* delta, int64_t t, int64_t i,
                 std::vector<double>& xin) {
    const float* xr = x + t * s.x_tower_stride() + i * s.n_in;
    for (int64_t p = 0; p < s.n_in; ++p)
        xin[p] = s.output_gate() ? double(xr[p]) : double(xr[p]) * delta[i * s.delta_cols() + t * s.n_in + p];
}
}  // namespace

void gated_linear_forward_reference(const GatedLinearShape& s, const float* x, const float* w, const float* b,
                                    const float* delta, float* act_out, float* y) {
    std::vector<double> xin(static_cast<size_t>(s.n_in));
    for (int64_t t = 0; t < s.towers; ++t)
        for (int64_t i = 0; i < s.batch; ++i) {
            layer_input(s, x, delta, t, i, xin);
            for (int64_t o = 0; o < s.n_out; ++o) {
                double acc = b ? b[t * s.n_out + o] : 0.0;
                const float* wr = w + (t * s.n_out + o) * s.n_in;
                for (int64_t p = 0; p < s.n_in; ++p) acc += xin[p] * wr[p];
                const float a = activate(s.activation, float(acc));
                const int64_t at = (t * s.batch + i) * s.n_out + o;
                if (act_out) act_out[at] = a;
                y[at] = s.output_gate() ? delta[i * s.delta_cols() + t * s.n_out + o] * a : a;
            }
        }
}

void gated_linear_backward_reference(const GatedLinearShape& s, const float* x, const float* w,
                                     const float* delta, const float* act_out, const float* grad_y,
                                     float* grad_x, float* grad_w, float* grad_b, float* grad_delta) {
    const int64_t x_rows = s.x_shared ? s.batch : s.towers * s.batch;
    std::vector<double> gx(grad_x ? x_rows * s.n_in : 0), gw(grad_w ? s.towers * s.n_out * s.n_in : 0);
    std::vector<double> gb(grad_b ? s.towers * s.n_out : 0);
    std::vector<double> xin(static_cast<size_t>(s.n_in)), gxin(static_cast<size_t>(s.n_in));
    for (int64_t t = 0; t < s.towers; ++t)
        for (int64_t i = 0; i < s.batch; ++i) {
            layer_input(s, x, delta, t, i, xin);
            std::fill(gxin.begin(), gxin.end(), 0.0);
            for (int64_t o = 0; o < s.n_out; ++o) {
                const int64_t at = (t * s.batch + i) * s.n_out + o;
                const double a = act_out[at], gy = grad_y[at];
                double g = gy;  // d loss / d act(pre)
                if (s.output_gate()) {
                    const int64_t dc = i * s.delta_cols() + t * s.n_out + o;
                    if (grad_delta) grad_delta[dc] = float(gy * a);
                    g = gy * delta[dc];
                }
                g *= activation_grad_from_output(s.activation, float(a));
                if (grad_b) gb[t * s.n_out + o] += g;
                const float* wr = w + (t * s.n_out + o) * s.n_in;
                for (int64_t p = 0; p < s.n_in; ++p) {
                    if (grad_w) gw[(t * s.n_out + o) * s.n_in + p] += g * xin[p];
                    gxin[p] += g * wr[p];
                }
            }
            const float* xr = x + t * s.x_tower_stride() + i * s.n_in;
            const int64_t xrow = s.x_shared ? i : t * s.batch + i;
            for (int64_t p = 0; p < s.n_in; ++p) {
                if (s.output_gate()) {
                    if (grad_x) gx[xrow * s.n_in + p] += gxin[p];
                } else {
                    const int64_t dc = i * s.delta_cols() + t * s.n_in + p;
                    if (grad_x) gx[xrow * s.n_in + p] += gxin[p] * delta[dc];
                    if (grad_delta) grad_delta[dc] = float(gxin[p] * xr[p]);
                }
            }
        }
    for (size_t k = 0; k < gx.size(); ++k) grad_x[k] = float(gx[k]);
    for (size_t k = 0; k < gw.size(); ++k) grad_w[k] = float(gw[k]);
    for (size_t k = 0; k < gb.size(); ++k) grad_b[k] = float(gb[k]);
}

}  // namespace dynrec::cpu
