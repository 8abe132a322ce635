// The spec of hyper_linear: materialize S_i = reshape(z_i g_w^T + g_b,
// [n_in, n_out]) for each row (row i reads condition row i / rows_per_cond),
// then plain loops; double accumulation, one thread.
#include <vector>

#include "cpu/activation.h"
#include "cpu/hyper_linear.h"

namespace dynrec::cpu {

namespace {
// S[a*n_out + b] = g_b[a*n_out + b] + sum_c z[c] g_w[(a*n_out + b)*n_cond + c]
void generate(const HyperLinearShape& s, const float* zr, const float* g_w, const float* g_b,
              std::vector<double>& S) {
    for (int64_t ab = 0; ab < s.n_in * s.n_out; ++ab) {
        double v = g_b ? g_b[ab] : 0.0;
        for (int64_t c = 0; c < s.n_cond; ++c) v += double(zr[c]) * g_w[ab * s.n_cond + c];
        S[ab] = v;
    }
}
}  // namespace

void hyper_linear_forward_reference(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                                    const float* g_b, const float* c_w, const float* c_b, int32_t activation,
                                    float* y) {
    std::vector<double> S(static_cast<size_t>(s.n_in * s.n_out));
    for (int64_t i = 0; i < s.batch; ++i) {
        const float* xr = x + i * s.n_in;
        const float* zr = z + (i / s.rows_per_cond) * s.n_cond;
        generate(s, zr, g_w, g_b, S);
        for (int64_t b = 0; b < s.n_out; ++b) {
            double v = c_b ? c_b[b] : 0.0;
            if (c_w)
                for (int64_t c = 0; c < s.n_cond; ++c) v += double(zr[c]) * c_w[b * s.n_cond + c];
            for (int64_t a = 0; a < s.n_in; ++a) v += double(xr[a]) * S[a * s.n_out + b];
            y[i * s.n_out + b] = activate(activation, float(v));
        }
    }
}

void hyper_linear_backward_pre_reference(const HyperLinearShape& s, const float* x, const float* z,
                                         const float* g_w, const float* g_b, const float* c_w, const float* gpre,
                                         const HyperLinearGrads& g) {
    const int64_t nin = s.n_in, nout = s.n_out, nc = s.n_cond;
    std::vector<double> gw(g.g_w ? nin * nout * nc : 0), gb(g.g_b ? nin * nout : 0);
    std::vector<double> cw(g.c_w ? nout * nc : 0), cb(g.c_b ? nout : 0);
    std::vector<double> S(static_cast<size_t>(nin * nout));
    // grad_z sums over the rows that share a condition row.
    std::vector<double> gz_all(g.z ? s.groups() * nc : 0, 0.0);
    for (int64_t i = 0; i < s.batch; ++i) {
        const float* xr = x + i * nin;
        const int64_t group = i / s.rows_per_cond;
        const float* zr = z + group * nc;
        const float* gr = gpre + i * nout;
        generate(s, zr, g_w, g_b, S);
        if (g.x)
            for (int64_t a = 0; a < nin; ++a) {
                double v = 0.0;
                for (int64_t b = 0; b < nout; ++b) v += double(gr[b]) * S[a * nout + b];
                g.x[i * nin + a] = float(v);
            }
        // dL/dS_i[a][b] = x_ia gpre_ib; S_i is linear in z_i, g_w and g_b.
        std::vector<double> gz(static_cast<size_t>(nc), 0.0);
        for (int64_t a = 0; a < nin; ++a)
            for (int64_t b = 0; b < nout; ++b) {
                const int64_t ab = a * nout + b;
                const double gs = double(xr[a]) * gr[b];
                if (g.g_b) gb[ab] += gs;
                for (int64_t c = 0; c < nc; ++c) {
                    if (g.g_w) gw[ab * nc + c] += gs * zr[c];
                    gz[c] += gs * g_w[ab * nc + c];
                }
            }
        for (int64_t b = 0; b < nout; ++b) {
            if (g.c_b) cb[b] += gr[b];
            for (int64_t c = 0; c < nc; ++c) {
                if (g.c_w) cw[b * nc + c] += double(gr[b]) * zr[c];
                if (c_w) gz[c] += double(gr[b]) * c_w[b * nc + c];
            }
        }
        if (g.z)
            for (int64_t c = 0; c < nc; ++c) gz_all[group * nc + c] += gz[c];
    }
    for (size_t k = 0; k < gz_all.size(); ++k) g.z[k] = float(gz_all[k]);
    for (size_t k = 0; k < gw.size(); ++k) g.g_w[k] = float(gw[k]);
    for (size_t k = 0; k < gb.size(); ++k) g.g_b[k] = float(gb[k]);
    for (size_t k = 0; k < cw.size(); ++k) g.c_w[k] = float(cw[k]);
    for (size_t k = 0; k < cb.size(); ++k) g.c_b[k] = float(cb[k]);
}

void hyper_linear_backward_reference(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                                     const float* g_b, const float* c_w, int32_t activation, const float* y,
                                     const float* grad_y, const HyperLinearGrads& grads) {
    std::vector<float> gpre(static_cast<size_t>(s.batch * s.n_out));
    for (size_t k = 0; k < gpre.size(); ++k)
        gpre[k] = grad_y[k] * (y ? activation_grad_from_output(activation, y[k]) : 1.0f);
    hyper_linear_backward_pre_reference(s, x, z, g_w, g_b, c_w, gpre.data(), grads);
}

}  // namespace dynrec::cpu
