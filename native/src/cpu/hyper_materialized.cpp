// hyper_linear for small batches (see hyper_materialized.h) without S. With
// g_w read as the row-major [n_in, n_out * n_cond] matrix G it is, every
// product over the generated weights S_i = reshape(z_i g_w^T) regroups so that
// the only per-batch intermediate is [batch, n_out * n_cond] (n_in times
// smaller than S), and the big operand G enters plain GEMMs read in place:
//   Q = x G,                  y_i[b]       = act(sum_c z_i[c] Q_i[b, c] + x_i g_b + z_i c_w^T + c_b)
//   P_i[b, c] = gpre_i[b] z_i[c],  grad_x = P G^T + gpre g_b^T (* act'(x)),  grad_g_w = x^T P,
//   grad_z_i[c] = sum_b gpre_i[b] Q_i[b, c] + gpre_i c_w,
// and grad_c_b, grad_c_w, grad_g_b as in every path. Each product is our sgemm
// (whose small-m path reads G without packing it) or a fixed-order loop over
// one row: results do not depend on the thread count.
#include "cpu/hyper_materialized.h"

#include <algorithm>
#include <vector>

#include "cpu/activation.h"
#include "cpu/gemm.h"
#include "cpu/parallel.h"
#include "cpu/reduce.h"

namespace dynrec::cpu {

namespace {

// The [batch, n_out * n_cond] intermediate, kept by the calling thread between
// calls up to 1 Mi floats: a fresh allocation per call page-faults, which at
// these sizes costs as much as the GEMMs.
float* intermediate(int64_t floats) {
    thread_local std::vector<float> buffer;
    constexpr int64_t kKeepFloats = int64_t(1) << 20;
    if (static_cast<int64_t>(buffer.size()) > kKeepFloats) std::vector<float>().swap(buffer);
    if (static_cast<int64_t>(buffer.size()) < floats) buffer.resize(static_cast<size_t>(floats));
    return buffer.data();
}

// Q = x G: [batch, n_out * n_cond].
void form_q(const HyperLinearShape& s, const float* x, const float* g_w, float* Q) {
    const int64_t width = s.n_out * s.n_cond;
    sgemm(false, false, s.batch, width, s.n_in, 1.0f, x, s.n_in, g_w, width, 0.0f, Q, width);
}

}  // namespace

void hyper_materialized_forward(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                                const float* g_b, const float* c_w, const float* c_b, int32_t activation,
                                float* y) {
    const int64_t B = s.batch, ni = s.n_in, no = s.n_out, nc = s.n_cond, width = no * nc;
    float* const Q = intermediate(B * width);
    form_q(s, x, g_w, Q);
    // The parts without G as GEMMs over the batch: z c_w^T, then + x g_b.
    if (c_w)
        sgemm(false, true, B, no, nc, 1.0f, z, nc, c_w, nc, 0.0f, y, no);
    else
        std::fill(y, y + B * no, 0.0f);
    if (g_b) sgemm(false, false, B, no, ni, 1.0f, x, ni, g_b, no, 1.0f, y, no);
    parallel_for(0, B, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const float* Qi = Q + i * width;
            const float* zi = z + i * nc;
            float* yi = y + i * no;
            for (int64_t b = 0; b < no; ++b) yi[b] += dot_lanes(Qi + b * nc, zi, nc);
            bias_activate(activation, yi, c_b, no);
        }
    });
}

void hyper_materialized_backward_pre(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                                     const float* g_b, const float* c_w, const float* gpre,
                                     const HyperLinearGrads& g, int32_t x_activation, bool accumulate_z) {
    const int64_t B = s.batch, ni = s.n_in, no = s.n_out, nc = s.n_cond, width = no * nc;
    // The parts that need no G.
    if (g.c_b) column_sums(B, no, gpre, g.c_b);
    if (g.c_w) sgemm(true, false, no, nc, B, 1.0f, gpre, no, z, nc, 0.0f, g.c_w, nc);
    if (g.g_b) sgemm(true, false, ni, no, B, 1.0f, x, ni, gpre, no, 0.0f, g.g_b, no);
    if (!g.x && !g.g_w && !g.z) return;
    float* const T = intermediate(B * width);
    if (g.x || g.g_w) {
        // P_i = gpre_i (x) z_i, then grad_x = P G^T (+ gpre g_b^T) and grad_g_w = x^T P.
        parallel_for(0, B, 1, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) {
                float* Pi = T + i * width;
                const float* gi = gpre + i * no;
                const float* zi = z + i * nc;
                for (int64_t b = 0; b < no; ++b)
                    for (int64_t c = 0; c < nc; ++c) Pi[b * nc + c] = gi[b] * zi[c];
            }
        });
        if (g.x) {
            sgemm(false, true, B, ni, width, 1.0f, T, width, g_w, width, 0.0f, g.x, ni);
            if (g_b) sgemm(false, true, B, ni, no, 1.0f, gpre, no, g_b, no, 1.0f, g.x, ni);
            if (x_activation != DYNREC_ACT_NONE)
                parallel_for(0, B, 16, [&](int64_t i0, int64_t i1) {
                    for (int64_t i = i0; i < i1; ++i) mul_activation_grad(x_activation, x + i * ni, g.x + i * ni, ni);
                });
        }
        if (g.g_w) sgemm(true, false, ni, width, B, 1.0f, x, ni, T, width, 0.0f, g.g_w, width);
    }
    if (g.z) {
        // grad_z_i[c] = sum_b gpre_i[b] Q_i[b, c] (+ gpre c_w), Q recomputed over P's buffer.
        form_q(s, x, g_w, T);
        parallel_for(0, B, 1, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) {
                const float* Qi = T + i * width;
                const float* gi = gpre + i * no;
                float* gzi = g.z + i * nc;
                if (!accumulate_z) std::fill(gzi, gzi + nc, 0.0f);
                for (int64_t b = 0; b < no; ++b) {
                    const float gb = gi[b];
                    const float* row = Qi + b * nc;
                    for (int64_t c = 0; c < nc; ++c) gzi[c] += gb * row[c];
                }
            }
        });
        if (c_w) sgemm(false, false, B, nc, no, 1.0f, gpre, no, c_w, nc, 1.0f, g.z, nc);
    }
}

}  // namespace dynrec::cpu
