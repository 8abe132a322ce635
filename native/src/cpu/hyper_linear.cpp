// Optimized hyper_linear: the per-sample weight S_i is never formed (small
// batches take hyper_materialized.cpp instead, see hyper_linear_materialized below).
//
// With x~ = [x, 1] and z~ = [z, 1] (the 1s only where a bias term exists),
// the pre-activation is a bilinear form
//   pre_i[b] = sum_{a, c} x~_ia z~_ic P[a, c, b] + c_b[b],
//   P[a<n_in, c<n_cond, b] = g_w[(a*n_out+b)*n_cond + c],  P[a, n_cond, b] = g_b[a*n_out+b],
//   P[n_in, c, b] = c_w[b*n_cond + c].
// Every product below is a packed GEMM over P (whose packing is O(params))
// with a per-row contraction against the other factor in a row-tile
// epilogue, so the extra memory is O(batch * (n_in + n_cond + n_out)) plus
// per-thread tiles:
//   forward:  T_i[(c,b)] = x~_i . P[:, c, b]   (GEMM, K = n_in+1)
//             y_i[b] = act(sum_c z~_ic T_i[(c,b)] + c_b[b])            (epilogue)
//   backward: R_i[(c,a)] = gpre_i . P[a, c, :]  (GEMM, K = n_out)
//             grad_x_ia = sum_c z~_ic R_i[(c,a)],  grad_z_ic = sum_a x~_ia R_i[(c,a)]
//             [grad_g_w | grad_g_b | grad_c_w] = z~^T (x~ (x) gpre)     (GEMM, K = batch,
//             oriented by weight_grad_by_rows: either rows (z~ (x) x~) times gpre, or
//             z~^T times columns (x~ (x) gpre); the outer product is formed one
//             sliver at a time, in L1)
//             grad_c_b = column sums of gpre (deterministic).
// Threads split batch row blocks (forward, R) or output column slivers
// (parameter gradients); every output is summed in a fixed order, so results
// do not depend on the thread count.
#include "cpu/hyper_linear.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/activation.h"
#include "cpu/gemm_driver.h"
#include "cpu/gemm_pack.h"
#include "cpu/hyper_grouped.h"
#include "cpu/hyper_materialized.h"
#include "cpu/parallel.h"
#include "cpu/reduce.h"

namespace dynrec::cpu {

namespace {

using gemm::MR;
using gemm::NR;

// op(A)[i, p] = x[i*n + p] for p < n, 1 for p == n (the appended bias input).
struct AppendOneA {
    const float* x;
    int64_t n;
    void operator()(int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) const {
        const int64_t from_x = std::clamp<int64_t>(n - p0, 0, kc);
        for (int64_t ir = 0; ir < mc; ir += MR, dst += kc * MR) {
            const int64_t mr = std::min(MR, mc - ir);
            if (from_x > 0) gemm::pack_transposed8(x + (i0 + ir) * n + p0, n, mr, from_x, dst, MR);
            for (int64_t p = from_x; p < kc; ++p)  // the column(s) past x: 1 in the rows that exist
                for (int64_t r = 0; r < MR; ++r) dst[p * MR + r] = r < mr ? 1.0f : 0.0f;
        }
    }
};

// op(A)[r, i] = z~[i, c_lo + r]: the condition, transposed, with a 1 column at n_cond.
struct CondTransposedA {
    const float* z;
    int64_t n_cond, c_lo;
    void operator()(int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) const {
        for (int64_t ir = 0; ir < mc; ir += MR, dst += kc * MR) {
            for (int64_t p = 0; p < kc; ++p) {
                const float* zr = z + (p0 + p) * n_cond;
                for (int64_t r = 0; r < MR; ++r) {
                    const int64_t row = i0 + ir + r, c = c_lo + row;
                    dst[p * MR + r] = row >= i0 + mc ? 0.0f : (c < n_cond ? zr[c] : 1.0f);
                }
            }
        }
    }
};

// op(B)[i, col] = x~[i, a_lo + col / n_out] * g[i, col % n_out]: the outer
// product x~ (x) gpre, one sliver at a time (a 16-wide multiply per row when
// the sliver stays inside one a).
struct OuterProductB {
    const float *x, *g;
    int64_t n_in, n_out, a_lo;
    float xt(int64_t i, int64_t a) const { return a < n_in ? x[i * n_in + a] : 1.0f; }
    void operator()(int64_t p0, int64_t kc, int64_t j, int64_t nr, float* dst) const {
        const int64_t a0 = a_lo + j / n_out, b0 = j % n_out;
        if (b0 + nr <= n_out) {
            for (int64_t p = 0; p < kc; ++p) {
                const int64_t i = p0 + p;
                const float xa = xt(i, a0);
                const float* gr = g + i * n_out + b0;
                float* d = dst + p * NR;
                for (int64_t c = 0; c < nr; ++c) d[c] = xa * gr[c];
                for (int64_t c = nr; c < NR; ++c) d[c] = 0.0f;
            }
            return;
        }
        for (int64_t p = 0; p < kc; ++p) {
            const int64_t i = p0 + p;
            for (int64_t c = 0; c < NR; ++c) {
                const int64_t col = j + c;
                dst[p * NR + c] = c < nr ? xt(i, a_lo + col / n_out) * g[i * n_out + col % n_out] : 0.0f;
            }
        }
    }
};

// op(A)[(c - c_lo) * na + (a - a_lo), i] = z~[i, c] * x~[i, a]: the outer
// product z~ (x) x~ with rows c-major, one row sliver at a time (an 8-wide
// multiply per sample when the sliver stays inside one c and inside x).
struct CondInputOuterA {
    const float *x, *z;
    int64_t n_in, n_cond, c_lo, a_lo, na;
    float zt(int64_t i, int64_t c) const { return c < n_cond ? z[i * n_cond + c] : 1.0f; }
    float xt(int64_t i, int64_t a) const { return a < n_in ? x[i * n_in + a] : 1.0f; }
    void operator()(int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) const {
        for (int64_t ir = 0; ir < mc; ir += MR, dst += kc * MR) {
            const int64_t row0 = i0 + ir, mr = std::min(MR, mc - ir);
            const int64_t c = c_lo + row0 / na, a0 = a_lo + row0 % na;
            if (row0 % na + mr <= na && a0 + mr <= n_in) {
                for (int64_t p = 0; p < kc; ++p) {
                    const int64_t i = p0 + p;
                    const float zc = zt(i, c);
                    const float* xr = x + i * n_in + a0;
                    float* d = dst + p * MR;
                    for (int64_t r = 0; r < mr; ++r) d[r] = zc * xr[r];
                    for (int64_t r = mr; r < MR; ++r) d[r] = 0.0f;
                }
                continue;
            }
            // A sliver across a c boundary or over the ones column: each row's
            // (c, a) worked out once, then two loads and a multiply per sample.
            int64_t cs[MR], as[MR];
            for (int64_t r = 0; r < mr; ++r) {
                cs[r] = c_lo + (row0 + r) / na;
                as[r] = a_lo + (row0 + r) % na;
            }
            for (int64_t p = 0; p < kc; ++p) {
                const int64_t i = p0 + p;
                float* d = dst + p * MR;
                for (int64_t r = 0; r < mr; ++r) d[r] = zt(i, cs[r]) * xt(i, as[r]);
                for (int64_t r = mr; r < MR; ++r) d[r] = 0.0f;
            }
        }
    }
};

// P[a, c, b] as described above (0 where the bias term is absent).
struct BilinearWeights {
    const HyperLinearShape& s;
    const float *g_w, *g_b, *c_w;
    float operator()(int64_t a, int64_t c, int64_t b) const {
        if (a < s.n_in) {
            const int64_t ab = a * s.n_out + b;
            return c < s.n_cond ? g_w[ab * s.n_cond + c] : (g_b ? g_b[ab] : 0.0f);
        }
        return c < s.n_cond && c_w ? c_w[b * s.n_cond + c] : 0.0f;
    }
};

}  // namespace

// Measured on the dev machine (AMD EPYC, AVX-512, 1 and 2 threads, fwd+bwd through the
// C ABI, 2026-11-28, both paths forced side by side, batch 1-256; shapes 64x64 cond 4/16,
// 256x64 cond 16, 32x32 cond 64, 128x128 cond 8, 512x256 cond 16): the small-batch path
// wins at every shape from batch 4 to 32 (1.1-4x), is within ~15% either way at batch 1,
// and loses to the outer-product kernels from batch 64-128 on.
bool hyper_linear_materialized(const HyperLinearShape& s) {
    return s.batch <= 32 && s.batch * s.n_out * s.n_cond <= kMaterializedMaxFloats;
}

// Padded micro-kernel work of each orientation plus the cost of forming its
// outer-product operand: ~15 kernel FMAs per formed element (perf profile of
// the M2M training step on AVX-512). Columns form x~ (x) gpre (n_a * n_out per
// sample) for round_up(n_z, MR) rows; rows form z~ (x) x~ (n_z * n_a per
// sample) against n_out columns.
bool weight_grad_by_rows(int64_t n_z, int64_t n_a, int64_t n_out) {
    constexpr int64_t kFormCost = 15;
    using gemm::round_up;
    const int64_t columns = round_up(n_z, MR) * round_up(n_a * n_out, NR) + kFormCost * n_a * n_out;
    const int64_t rows = round_up(n_z * n_a, MR) * round_up(n_out, NR) + kFormCost * n_z * n_a + n_out;
    return rows < columns;
}

void hyper_linear_forward(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                          const float* g_b, const float* c_w, const float* c_b, int32_t activation, float* y) {
    if (s.rows_per_cond > 1) {
        hyper_grouped_forward(s, x, z, g_w, g_b, c_w, c_b, activation, y);
        return;
    }
    if (hyper_linear_materialized(s)) {
        hyper_materialized_forward(s, x, z, g_w, g_b, c_w, c_b, activation, y);
        return;
    }
    const int64_t nin = s.n_in, nout = s.n_out, nc = s.n_cond;
    const int64_t na = nin + (c_w ? 1 : 0);  // x~ width
    const int64_t ncz = nc + (g_b ? 1 : 0);  // z~ width
    const BilinearWeights P{s, g_w, g_b, c_w};
    // op(B)[a, c*n_out + b] = P[a, c, b]; a sliver inside one generator
    // column c (the common case) reads g_w with stride n_cond, no divisions.
    auto pack_p = [&](int64_t p0, int64_t kc, int64_t j, int64_t nr, float* dst) {
        const int64_t c = j / nout, b0 = j % nout;
        if (c < nc && b0 + nr <= nout) {
            for (int64_t p = 0; p < kc; ++p) {
                const int64_t a = p0 + p;
                float* d = dst + p * NR;
                if (a < nin) {
                    const float* src = g_w + (a * nout + b0) * nc + c;
                    for (int64_t t = 0; t < nr; ++t) d[t] = src[t * nc];
                } else {
                    for (int64_t t = 0; t < nr; ++t) d[t] = c_w ? c_w[(b0 + t) * nc + c] : 0.0f;
                }
                for (int64_t t = nr; t < NR; ++t) d[t] = 0.0f;
            }
            return;
        }
        gemm::pack_b_by([&](int64_t a, int64_t col) { return P(a, col / nout, col % nout); }, p0, kc, j, nr, dst);
    };
    gemm::gemm_rows(s.batch, ncz * nout, na, AppendOneA{x, nin}, pack_p,
                    [&](int64_t i0, int64_t rows, const float* tile, int64_t ldt) {
                        for (int64_t r = 0; r < rows; ++r) {
                            const int64_t i = i0 + r;
                            const float* t = tile + r * ldt;
                            const float* zr = z + i * nc;
                            float* yr = y + i * nout;
                            if (g_b)
                                std::memcpy(yr, t + nc * nout, static_cast<size_t>(nout) * sizeof(float));
                            else
                                std::fill(yr, yr + nout, 0.0f);
                            for (int64_t c = 0; c < nc; ++c) {
                                const float zc = zr[c];
                                const float* tc = t + c * nout;
                                for (int64_t b = 0; b < nout; ++b) yr[b] += zc * tc[b];
                            }
                            bias_activate(activation, yr, c_b, nout);
                        }
                    });
}

void hyper_linear_backward_pre(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                               const float* g_b, const float* c_w, const float* gpre, const HyperLinearGrads& g,
                               int32_t x_activation, bool accumulate_z) {
    if (s.rows_per_cond > 1) {
        hyper_grouped_backward_pre(s, x, z, g_w, g_b, c_w, gpre, g, x_activation, accumulate_z);
        return;
    }
    if (hyper_linear_materialized(s)) {
        hyper_materialized_backward_pre(s, x, z, g_w, g_b, c_w, gpre, g, x_activation, accumulate_z);
        return;
    }
    const int64_t nin = s.n_in, nout = s.n_out, nc = s.n_cond, B = s.batch;
    const BilinearWeights P{s, g_w, g_b, c_w};

    if (g.x || g.z) {
        // Only the (c, a) pairs some input gradient reads: the g_b column
        // (c = n_cond) feeds grad_x only, the c_w row (a = n_in) grad_z only.
        const int64_t na = nin + (g.z && c_w ? 1 : 0);
        const int64_t ncz = nc + (g.x && g_b ? 1 : 0);
        // op(B)[b, c*na + a] = P[a, c, b]. A sliver inside one generator column c
        // and inside x (all but a few) is a strided gather from g_w with no
        // divisions or branches per element; it is packed on every call (O(params)),
        // which at small batches is most of the backward (perf: ~half at batch 16).
        auto pack_p = [&](int64_t p0, int64_t kc, int64_t j, int64_t nr, float* dst) {
            const int64_t c = j / na, a0 = j % na;
            if (c < nc && a0 + nr <= nin) {
                const int64_t a_step = nout * nc;
                for (int64_t p = 0; p < kc; ++p) {
                    const float* src = g_w + (a0 * nout + p0 + p) * nc + c;
                    float* d = dst + p * NR;
                    for (int64_t t = 0; t < nr; ++t) d[t] = src[t * a_step];
                    for (int64_t t = nr; t < NR; ++t) d[t] = 0.0f;
                }
                return;
            }
            gemm::pack_b_by([&](int64_t b, int64_t col) { return P(col % na, col / na, b); }, p0, kc, j, nr, dst);
        };
        gemm::gemm_rows(B, ncz * na, nout, gemm::StridedA{gpre, nout, false}, pack_p,
                        [&](int64_t i0, int64_t rows, const float* tile, int64_t ldt) {
                            for (int64_t r = 0; r < rows; ++r) {
                                const int64_t i = i0 + r;
                                const float* R = tile + r * ldt;  // R[c*na + a]
                                const float* zr = z + i * nc;
                                const float* xr = x + i * nin;
                                if (g.x) {
                                    float* gx = g.x + i * nin;
                                    if (ncz > nc)
                                        std::memcpy(gx, R + nc * na, static_cast<size_t>(nin) * sizeof(float));
                                    else
                                        std::fill(gx, gx + nin, 0.0f);
                                    for (int64_t c = 0; c < nc; ++c) {
                                        const float zc = zr[c];
                                        const float* rc = R + c * na;
                                        for (int64_t a = 0; a < nin; ++a) gx[a] += zc * rc[a];
                                    }
                                    mul_activation_grad(x_activation, xr, gx, nin);
                                }
                                if (g.z) {
                                    float* gz = g.z + i * nc;
                                    for (int64_t c = 0; c < nc; ++c) {
                                        const float* rc = R + c * na;
                                        const float v = (na > nin ? rc[nin] : 0.0f) + dot_lanes(xr, rc, nin);
                                        gz[c] = accumulate_z ? gz[c] + v : v;
                                    }
                                }
                            }
                        });
    }

    if (g.g_w || g.g_b || g.c_w) {
        // W~[c, a, b] = sum_i z~_ic x~_ia gpre_ib for the requested blocks:
        // c < n_cond & a < n_in -> grad_g_w, c = n_cond -> grad_g_b, a = n_in -> grad_c_w.
        const int64_t c_lo = (g.g_w || g.c_w) ? 0 : nc, c_hi = nc + (g.g_b ? 1 : 0);
        const int64_t a_lo = (g.g_w || g.g_b) ? 0 : nin, a_hi = nin + (g.c_w ? 1 : 0);
        const int64_t M = c_hi - c_lo, NA = a_hi - a_lo;
        // Stores W~[c, a, 0..n_out) into whichever gradient (c, a) belongs to.
        auto store = [&](int64_t c, int64_t a, const float* w) {
            if (a < nin && c < nc) {
                if (g.g_w)
                    for (int64_t b = 0; b < nout; ++b) g.g_w[(a * nout + b) * nc + c] = w[b];
            } else if (a < nin) {
                if (g.g_b) std::memcpy(g.g_b + a * nout, w, static_cast<size_t>(nout) * sizeof(float));
            } else if (c < nc && g.c_w) {
                for (int64_t b = 0; b < nout; ++b) g.c_w[b * nc + c] = w[b];
            }
        };
        // Oriented by the op's shape, not by which gradients are asked for, so
        // a gradient's bits do not depend on the NULL pattern of the others.
        if (weight_grad_by_rows(nc + (g_b ? 1 : 0), nin + (c_w ? 1 : 0), nout)) {
            gemm::gemm_rows(M * NA, nout, B, CondInputOuterA{x, z, nin, nc, c_lo, a_lo, NA},
                            gemm::StridedB{gpre, nout, false},
                            [&](int64_t r0, int64_t rows, const float* tile, int64_t ldt) {
                                for (int64_t r = 0; r < rows; ++r)
                                    store(c_lo + (r0 + r) / NA, a_lo + (r0 + r) % NA, tile + r * ldt);
                            });
        } else {
            const int64_t N = NA * nout;
            std::vector<float> C(static_cast<size_t>(M * N));
            gemm::gemm_small_m(M, N, B, CondTransposedA{z, nc, c_lo}, OuterProductB{x, gpre, nin, nout, a_lo},
                               C.data(), N);
            parallel_for(0, M * NA, 16, [&](int64_t r0, int64_t r1) {
                for (int64_t r = r0; r < r1; ++r) store(c_lo + r / NA, a_lo + r % NA, C.data() + r * nout);
            });
        }
    }
    if (g.c_b) column_sums(B, nout, gpre, g.c_b);
}

void hyper_linear_backward(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                           const float* g_b, const float* c_w, int32_t activation, const float* y,
                           const float* grad_y, const HyperLinearGrads& grads) {
    std::vector<float> gpre(grad_y, grad_y + s.batch * s.n_out);
    if (y)
        parallel_for(0, s.batch, 64, [&](int64_t i0, int64_t i1) {
            mul_activation_grad(activation, y + i0 * s.n_out, gpre.data() + i0 * s.n_out, (i1 - i0) * s.n_out);
        });
    hyper_linear_backward_pre(s, x, z, g_w, g_b, c_w, gpre.data(), grads, DYNREC_ACT_NONE, false);
}

}  // namespace dynrec::cpu
