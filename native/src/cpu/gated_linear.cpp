// Optimized gated_linear.
//
// Forward: one gemm_rows per tower (one for all towers when x is shared and
// the gate sits on the output: x [batch, n_in] times the stacked W^T
// [n_in, towers*n_out]). The INPUT gate is applied while packing x into the
// GEMM's A panels, so delta*x never exists; bias, activation, act_out and
// the OUTPUT gate run in the row-tile epilogue while the tile is in cache.
//
// Backward: one pass forms gpre = d loss / d pre-activation as [batch,
// towers*n_out] (and grad_delta for the OUTPUT gate); grad_b is a
// deterministic column sum of it; grad_w a GEMM gpre_t^T x_t (gated x packed
// on the fly); grad_x a GEMM gpre_t W_t, a single K = towers*n_out GEMM when
// x is shared (the sum over towers happens inside the GEMM). For the INPUT
// gate a row-tile epilogue splits gpre_t W_t into grad_x and grad_delta.
// Threads split batch rows (GEMM row blocks / row ranges); results do not
// depend on the thread count.
#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/activation.h"
#include "cpu/gated_linear.h"
#include "cpu/gemm.h"
#include "cpu/gemm_driver.h"
#include "cpu/gemm_pack.h"
#include "cpu/parallel.h"
#include "cpu/reduce.h"

namespace dynrec::cpu {

namespace {

using gemm::MR;
using gemm::NR;

// op(A)[i, p] = d[i*ldd + p] * x[i*ldx + p]: the INPUT-gated layer input.
// Eight rows of products at a time into a small row-major buffer, then one
// 8 x 8-transposing pack.
struct GatedA {
    const float *x, *d;
    int64_t ldx, ldd;
    void operator()(int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) const {
        thread_local std::vector<float> rows;
        rows.resize(static_cast<size_t>(MR * kc));
        for (int64_t ir = 0; ir < mc; ir += MR, dst += kc * MR) {
            const int64_t mr = std::min(MR, mc - ir);
            for (int64_t r = 0; r < mr; ++r) {
                const float* xr = x + (i0 + ir + r) * ldx + p0;
                const float* dr = d + (i0 + ir + r) * ldd + p0;
                float* out = rows.data() + r * kc;
                for (int64_t p = 0; p < kc; ++p) out[p] = xr[p] * dr[p];
            }
            gemm::pack_transposed8(rows.data(), kc, mr, kc, dst, MR);
        }
    }
};

// op(B)[i, p] = d[i*ldd + p] * x[i*ldx + p] (rows = batch, the K of grad_w).
struct GatedB {
    const float *x, *d;
    int64_t ldx, ldd;
    void operator()(int64_t p0, int64_t kc, int64_t j, int64_t nr, float* dst) const {
        for (int64_t p = 0; p < kc; ++p) {
            const float* xr = x + (p0 + p) * ldx + j;
            const float* dr = d + (p0 + p) * ldd + j;
            for (int64_t c = 0; c < nr; ++c) dst[p * NR + c] = xr[c] * dr[c];
            for (int64_t c = nr; c < NR; ++c) dst[p * NR + c] = 0.0f;
        }
    }
};

}  // namespace

void gated_linear_forward(const GatedLinearShape& s, const float* x, const float* w, const float* b,
                          const float* delta, float* act_out, float* y) {
    const int64_t B = s.batch, ni = s.n_in, no = s.n_out, dc = s.delta_cols();
    // Finishes rows i0..i0+rows of tower t from tile columns col0..col0+no.
    auto finish = [&](int64_t t, int64_t i0, int64_t rows, const float* tile, int64_t ldt, int64_t col0) {
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t i = i0 + r;
            float* yr = y + (t * B + i) * no;
            std::memcpy(yr, tile + r * ldt + col0, static_cast<size_t>(no) * sizeof(float));
            bias_activate(s.activation, yr, b ? b + t * no : nullptr, no);
            if (act_out) std::memcpy(act_out + (t * B + i) * no, yr, static_cast<size_t>(no) * sizeof(float));
            if (s.output_gate()) {
                const float* dr = delta + i * dc + t * no;
                for (int64_t o = 0; o < no; ++o) yr[o] *= dr[o];
            }
        }
    };
    if (s.output_gate() && s.x_shared && s.towers > 1) {
        gemm::gemm_rows(B, s.towers * no, ni, gemm::StridedA{x, ni, false}, gemm::StridedB{w, ni, true},
                        [&](int64_t i0, int64_t rows, const float* tile, int64_t ldt) {
                            for (int64_t t = 0; t < s.towers; ++t) finish(t, i0, rows, tile, ldt, t * no);
                        });
        return;
    }
    for (int64_t t = 0; t < s.towers; ++t) {
        const float* xt = x + t * s.x_tower_stride();
        const gemm::StridedB wt{w + t * no * ni, ni, true};
        auto epi = [&](int64_t i0, int64_t rows, const float* tile, int64_t ldt) { finish(t, i0, rows, tile, ldt, 0); };
        if (s.output_gate())
            gemm::gemm_rows(B, no, ni, gemm::StridedA{xt, ni, false}, wt, epi);
        else
            gemm::gemm_rows(B, no, ni, GatedA{xt, delta + t * ni, ni, dc}, wt, epi);
    }
}

void gated_linear_backward(const GatedLinearShape& s, const float* x, const float* w, const float* delta,
                           const float* act_out, const float* grad_y, float* grad_x, float* grad_w,
                           float* grad_b, float* grad_delta) {
    const int64_t B = s.batch, ni = s.n_in, no = s.n_out, T = s.towers, dc = s.delta_cols();
    const int64_t ldg = T * no;  // gpre is [batch, towers*n_out]: tower t at column t*n_out
    std::vector<float> gpre(static_cast<size_t>(B * ldg));
    parallel_for(0, B, 16, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
            for (int64_t t = 0; t < T; ++t) {
                const float* a = act_out + (t * B + i) * no;
                const float* gy = grad_y + (t * B + i) * no;
                float* g = gpre.data() + i * ldg + t * no;
                if (s.output_gate()) {
                    const float* dr = delta + i * dc + t * no;
                    if (grad_delta) {
                        float* gd = grad_delta + i * dc + t * no;
                        for (int64_t o = 0; o < no; ++o) gd[o] = gy[o] * a[o];
                    }
                    for (int64_t o = 0; o < no; ++o) g[o] = gy[o] * dr[o];
                } else {
                    std::memcpy(g, gy, static_cast<size_t>(no) * sizeof(float));
                }
                mul_activation_grad(s.activation, a, g, no);
            }
    });
    if (grad_b) column_sums(B, ldg, gpre.data(), grad_b);

    if (grad_w) {
        if (s.output_gate() && s.x_shared) {
            // All towers at once: grad_w [T*n_out, n_in] = gpre^T x.
            sgemm(true, false, ldg, ni, B, 1.0f, gpre.data(), ldg, x, ni, 0.0f, grad_w, ni);
        } else {
            for (int64_t t = 0; t < T; ++t) {
                const float* xt = x + t * s.x_tower_stride();
                const gemm::StridedA gt{gpre.data() + t * no, ldg, true};
                float* gwt = grad_w + t * no * ni;
                if (s.output_gate())
                    gemm::gemm_packed(no, ni, B, 1.0f, gt, gemm::StridedB{xt, ni, false}, 0.0f, gwt, ni);
                else
                    gemm::gemm_packed(no, ni, B, 1.0f, gt, GatedB{xt, delta + t * ni, ni, dc}, 0.0f, gwt, ni);
            }
        }
    }

    if (s.output_gate()) {
        if (!grad_x) return;
        if (s.x_shared) {
            sgemm(false, false, B, ni, ldg, 1.0f, gpre.data(), ldg, w, ni, 0.0f, grad_x, ni);
        } else {
            for (int64_t t = 0; t < T; ++t)
                sgemm(false, false, B, ni, no, 1.0f, gpre.data() + t * no, ldg, w + t * no * ni, ni, 0.0f,
                      grad_x + t * B * ni, ni);
        }
        return;
    }
    if (!grad_x && !grad_delta) return;
    // INPUT gate: gxin_t = gpre_t W_t; grad_x (+)= gxin_t * delta_t, grad_delta_t = gxin_t * x_t.
    for (int64_t t = 0; t < T; ++t) {
        const float* xt = x + t * s.x_tower_stride();
        gemm::gemm_rows(B, ni, no, gemm::StridedA{gpre.data() + t * no, ldg, false},
                        gemm::StridedB{w + t * no * ni, ni, false},
                        [&](int64_t i0, int64_t rows, const float* tile, int64_t ldt) {
                            for (int64_t r = 0; r < rows; ++r) {
                                const int64_t i = i0 + r;
                                const float* gx = tile + r * ldt;
                                const float* dr = delta + i * dc + t * ni;
                                if (grad_x) {
                                    float* out = grad_x + t * s.x_tower_stride() + i * ni;
                                    if (s.x_shared && t > 0)
                                        for (int64_t p = 0; p < ni; ++p) out[p] += gx[p] * dr[p];
                                    else
                                        for (int64_t p = 0; p < ni; ++p) out[p] = gx[p] * dr[p];
                                }
                                if (grad_delta) {
                                    const float* xr = xt + i * ni;
                                    float* gd = grad_delta + i * dc + t * ni;
                                    for (int64_t p = 0; p < ni; ++p) gd[p] = gx[p] * xr[p];
                                }
                            }
                        });
    }
}

}  // namespace dynrec::cpu
