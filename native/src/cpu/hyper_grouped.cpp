// hyper_linear with shared conditions (see hyper_grouped.h). Per call the
// generator is laid out once as Gt [n_cond, n_in*n_out] (its rows contiguous;
// in (b, a) order, i.e. for S^T, in the backward). Threads take tiles of
// kTileGroups groups; per tile, in a per-thread buffer that stays in L2:
//   S_k = g_b + z_k Gt                       (every generator load serves the tile's groups)
//   y_g = act(x_g S_g + z_g c_w^T + c_b)     forward
//   grad_x_g = gpre_g S_g^T,  dS_g = x_g^T gpre_g,  grad_z_g = dS_g g_w (+ gsum_g c_w)
// with gsum_g = sum_r gpre_g. grad_g_w = sum_g z_g (x) dS_g and grad_g_b =
// sum_g dS_g need every group: the dS of a block of groups is kept and added
// in per block, threads splitting the columns; grad_c_w = gsum^T z per block;
// grad_c_b sums gpre over all rows as in every path. The products are
// gemm_unpacked (a fixed summation order) over ranges fixed by the shape:
// results do not depend on the thread count.
#include "cpu/hyper_grouped.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/activation.h"
#include "cpu/gemm.h"
#include "cpu/gemm_unpacked.h"
#include "cpu/parallel.h"
#include "cpu/reduce.h"
#include "cpu/transpose.h"

namespace dynrec::cpu {

namespace {

// Groups generated together: 8 rows of the generating product, so each 16-wide
// load of Gt feeds 8 FMAs; their S (8 x 16 KB at 64 x 64) stays in L2.
constexpr int64_t kTileGroups = 8;
// dS kept per block for grad_g_w: ~4 MiB.
constexpr int64_t kBlockFloats = int64_t(1) << 20;

enum Slot { kTileS, kTileSmall, kGt, kGbt, kBlockDs, kBlockGsum, kGradGt, kSlots };

// Buffers kept by each thread between calls (fresh pages fault at a cost
// comparable to the products). The tile slots are used by every thread of the
// parallel loops, the others by the calling thread only.
float* scratch(Slot slot, int64_t floats) {
    thread_local std::vector<float> buffers[kSlots];
    auto& buffer = buffers[slot];
    if (static_cast<int64_t>(buffer.size()) < floats) buffer.resize(static_cast<size_t>(floats));
    return buffer.data();
}

// Row stride of the [*, area] buffers (Gt, S tiles, dS, grad_g_w^T): one cache line
// past the area. At a power-of-two stride (64 x 64 -> 16 KB) a tile's rows all
// map to one L1 set and loads alias the pending stores (the layouts ran 1.65x
// slower, and the column-wise reads of grad_g_w's product thrash L1).
int64_t padded(int64_t area) { return area + 16; }

// Gt[c][d] = g_w[ab * n_cond + c] with d = ab; with `transposed`, d = b * n_in + a
// (S^T's order) and gbt = g_b^T. A per-call cost of O(params), one pass of
// in-register block transposes (cpu/transpose.cpp): at small batches a scalar
// layout cost as much as the products.
void lay_out_generator(const HyperLinearShape& s, const float* g_w, const float* g_b, bool transposed, float* Gt,
                       float* gbt) {
    const int64_t ni = s.n_in, no = s.n_out, nc = s.n_cond, area = ni * no;
    if (!transposed) {
        parallel_for(0, area, 1024, [&](int64_t ab0, int64_t ab1) {
            transpose(ab1 - ab0, nc, g_w + ab0 * nc, nc, Gt + ab0, padded(area));
        });
        return;
    }
    // For each b, the [n_in, n_cond] slice g_w[(a * n_out + b) * n_cond + c] goes to Gt[c][b * n_in + a].
    parallel_for(0, no, std::max<int64_t>(1, 1024 / ni), [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) transpose(ni, nc, g_w + b * nc, no * nc, Gt + b * ni, padded(area));
    });
    if (g_b) transpose(ni, no, g_b, no, gbt, ni);
}

// S [groups, area] (row stride padded(area)) = gbt + z Gt for up to kTileGroups consecutive condition rows.
void generate(const HyperLinearShape& s, int64_t groups, const float* z, const float* Gt, const float* gbt,
              float* S) {
    const int64_t area = s.n_in * s.n_out;
    // The bias enters as the accumulators' start (bit-identical to copying it into S first, and
    // generate ran 1.5x faster without that copy: its S tile does not fit L1, so it was L2-bound).
    gemm_unpacked(groups, area, s.n_cond, z, s.n_cond, 1, Gt, padded(area), S, padded(area), false, gbt);
}

int64_t tiles(int64_t groups) { return (groups + kTileGroups - 1) / kTileGroups; }

}  // namespace

void hyper_grouped_forward(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                           const float* g_b, const float* c_w, const float* c_b, int32_t activation, float* y) {
    const int64_t R = s.rows_per_cond, G = s.groups(), ni = s.n_in, no = s.n_out, nc = s.n_cond, area = ni * no;
    float* const Gt = scratch(kGt, nc * padded(area));
    lay_out_generator(s, g_w, g_b, false, Gt, nullptr);
    const float* const gbt = g_b;  // S's order is g_b's
    // c_w^T [n_cond, n_out], so the generated bias is a product with B read in place.
    float* const cwt = c_w ? scratch(kGradGt, nc * no) : nullptr;
    if (c_w)
        for (int64_t b = 0; b < no; ++b)
            for (int64_t c = 0; c < nc; ++c) cwt[c * no + b] = c_w[b * nc + c];
    parallel_for(0, tiles(G), 1, [&](int64_t t0, int64_t t1) {
        float* const S = scratch(kTileS, kTileGroups * padded(area));
        float* const bias = scratch(kTileSmall, kTileGroups * no);
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t g0 = t * kTileGroups, groups = std::min(kTileGroups, G - g0);
            generate(s, groups, z + g0 * nc, Gt, gbt, S);
            if (c_w) gemm_unpacked(groups, no, nc, z + g0 * nc, nc, 1, cwt, no, bias, no, false);
            for (int64_t k = 0; k < groups; ++k) {
                const int64_t row0 = (g0 + k) * R;
                float* yg = y + row0 * no;
                gemm_unpacked(R, no, ni, x + row0 * ni, ni, 1, S + k * padded(area), no, yg, no, false);
                for (int64_t r = 0; r < R; ++r) {
                    float* yr = yg + r * no;
                    if (c_w)
                        for (int64_t b = 0; b < no; ++b) yr[b] += bias[k * no + b];
                    bias_activate(activation, yr, c_b, no);
                }
            }
        }
    });
}

void hyper_grouped_backward_pre(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                                const float* g_b, const float* c_w, const float* gpre, const HyperLinearGrads& g,
                                int32_t x_activation, bool accumulate_z) {
    const int64_t R = s.rows_per_cond, G = s.groups(), ni = s.n_in, no = s.n_out, nc = s.n_cond, area = ni * no;
    // The parts whose sums run over rows, not groups.
    if (g.c_b) column_sums(s.batch, no, gpre, g.c_b);
    const bool need_ds = g.g_w || g.z || g.g_b;
    // grad_g_b = sum_g dS_g, added up per block below; x^T gpre over all rows (a GEMM with
    // a long reduction and a small output) would cost as much as the rest of the backward.
    const bool need_gsum = g.c_w || (g.z && c_w);
    if (!g.x && !need_ds && !need_gsum) return;

    // S^T's generator for grad_x = gpre S^T.
    float* const Gt = g.x ? scratch(kGt, nc * padded(area)) : nullptr;
    float* const gbt = g.x && g_b ? scratch(kGbt, area) : nullptr;
    if (g.x) lay_out_generator(s, g_w, g_b, true, Gt, gbt);
    const int64_t block = std::max<int64_t>(1, kBlockFloats / area / kTileGroups) * kTileGroups;
    const int64_t lds = padded(area);
    float* const dS = need_ds ? scratch(kBlockDs, std::min(block, G) * lds) : nullptr;
    float* const gsum = need_gsum ? scratch(kBlockGsum, std::min(block, G) * no) : nullptr;
    float* const gGt = g.g_w ? scratch(kGradGt, nc * lds) : nullptr;  // grad_g_w as [n_cond, area]
    for (int64_t b0 = 0; b0 < G; b0 += block) {
        const int64_t groups_in_block = std::min(block, G - b0);
        const float* z_blk = z + b0 * nc;
        parallel_for(0, tiles(groups_in_block), 1, [&](int64_t t0, int64_t t1) {
            float* const St = g.x ? scratch(kTileS, kTileGroups * lds) : nullptr;
            for (int64_t t = t0; t < t1; ++t) {
                const int64_t j0 = t * kTileGroups, groups = std::min(kTileGroups, groups_in_block - j0);
                if (g.x) generate(s, groups, z_blk + j0 * nc, Gt, gbt, St);
                for (int64_t k = 0; k < groups; ++k) {
                    const int64_t j = j0 + k, row0 = (b0 + j) * R;
                    const float* gp = gpre + row0 * no;
                    const float* xg = x + row0 * ni;
                    if (g.x) {
                        float* gx = g.x + row0 * ni;
                        gemm_unpacked(R, ni, no, gp, no, 1, St + k * lds, ni, gx, ni, false);
                        if (x_activation != DYNREC_ACT_NONE)
                            for (int64_t r = 0; r < R; ++r)
                                mul_activation_grad(x_activation, xg + r * ni, gx + r * ni, ni);
                    }
                    // dS_g[a, b] = sum_r x_g[r, a] gpre_g[r, b]: A read transposed in place.
                    if (need_ds) gemm_unpacked(ni, no, R, xg, 1, ni, gp, no, dS + j * lds, no, false);
                    if (gsum) {
                        float* gs = gsum + j * no;
                        std::memcpy(gs, gp, static_cast<size_t>(no) * sizeof(float));
                        for (int64_t r = 1; r < R; ++r)
                            for (int64_t b = 0; b < no; ++b) gs[b] += gp[r * no + b];
                    }
                }
                if (g.z) {
                    float* gz = g.z + (b0 + j0) * nc;
                    gemm_unpacked(groups, nc, area, dS + j0 * lds, lds, 1, g_w, nc, gz, nc, accumulate_z);
                    if (c_w) gemm_unpacked(groups, nc, no, gsum + j0 * no, no, 1, c_w, nc, gz, nc, true);
                }
            }
        });
        // grad_g_w as [n_cond, area] += z_blk^T dS and grad_g_b += dS's column sums,
        // threads splitting the columns.
        if (g.g_w || g.g_b)
            parallel_for(0, area, 256, [&](int64_t c0, int64_t c1) {
                if (g.g_w)
                    gemm_unpacked(nc, c1 - c0, groups_in_block, z_blk, 1, nc, dS + c0, lds, gGt + c0, lds, b0 > 0);
                if (g.g_b) {
                    float* gb = g.g_b + c0;
                    if (b0 == 0) std::fill(gb, gb + (c1 - c0), 0.0f);
                    for (int64_t j = 0; j < groups_in_block; ++j) {
                        const float* row = dS + j * lds + c0;
                        for (int64_t c = 0; c < c1 - c0; ++c) gb[c] += row[c];
                    }
                }
            });
        if (g.c_w) sgemm(true, false, no, nc, groups_in_block, 1.0f, gsum, no, z_blk, nc, b0 > 0 ? 1.0f : 0.0f, g.c_w, nc);

    }
    if (g.g_w)
        parallel_for(0, area, 1024, [&](int64_t ab0, int64_t ab1) {
            transpose(nc, ab1 - ab0, gGt + ab0, lds, g.g_w + ab0 * nc, nc);
        });
}

}  // namespace dynrec::cpu
