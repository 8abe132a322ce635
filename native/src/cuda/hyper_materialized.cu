// hyper_linear with S materialized per chunk of rows (see hyper_materialized.cuh).
// Per row i, with S_i = reshape(z_i g_w^T, [n_in, n_out]) (with rows_per_cond R > 1:
// one S per condition row, shared by its R rows; gS_i and gpre_i below then sum over
// the group's rows, and c_w's term is formed in the apply kernel):
//   forward:  y_i = act(x_i (S_i + g_b) + z_i c_w^T + c_b)
//   backward: grad_c_b = sum_i gpre_i, grad_c_w = gpre^T z, grad_g_b = x^T gpre
//             (cuBLAS, whole batch); per chunk: grad_x_i = (S_i + g_b) gpre_i
//             (* act'(x) for chains), gS_i = x_i ⊗ gpre_i, grad_g_w += gS^T z,
//             grad_z = gS g_w + gpre c_w (cuBLAS).
// Measured on an H200 (2026-11-28) the outer-product GEMMs reached ~7 TFLOP/s on
// APG-sized layers; this path moves ~28 bytes per S entry and row instead, and
// its GEMMs are cuBLAS's, which wins once n_cond is more than a few.
#include "common/math_mode.h"
#include "cuda/common.cuh"
#include "cuda/hyper_materialized.cuh"
#include "cuda/row_groups.cuh"

namespace dynrec::cuda {

namespace {

constexpr int kThreads = 256;

// y[i, b] = act(y_cw[i, b] + c_b[b] + sum_a x[i, a] (S[g, a*no + b] + g_b[a*no + b])), g = i / R; one
// thread per (i, b): neighbouring threads read neighbouring S entries. y_cw is y's content (has_cw,
// R = 1) or, with R > 1, z_g c_w^T formed here from z_cw / c_w.
__global__ void apply_rows_kernel(int64_t rows, int64_t rows_per_cond, int64_t ni, int64_t no, int64_t nc,
                                  const float* __restrict__ x, const float* __restrict__ S,
                                  const float* __restrict__ g_b, bool has_cw, const float* __restrict__ z_cw,
                                  const float* __restrict__ c_w, const float* __restrict__ c_b, int32_t act,
                                  float* __restrict__ y) {
    DYNREC_CUDA_FOR(e, rows * no) {
        const int64_t i = e / no, b = e % no, g = i / rows_per_cond;
        float acc = (has_cw ? y[e] : 0.0f) + (c_b ? __ldg(c_b + b) : 0.0f);
        if (z_cw)
            for (int64_t c = 0; c < nc; ++c) acc = fmaf(__ldg(z_cw + g * nc + c), __ldg(c_w + b * nc + c), acc);
        const float* s = S + g * ni * no + b;
        const float* xi = x + i * ni;
        for (int64_t a = 0; a < ni; ++a) {
            const float w = s[a * no] + (g_b ? __ldg(g_b + a * no + b) : 0.0f);
            acc = fmaf(__ldg(xi + a), w, acc);
        }
        y[e] = activate_dev(act, acc);
    }
}

// grad_x[i, a] = sum_b (S[i / R, a*no + b] + g_b[a*no + b]) gpre[i, b] (* act'(x[i, a])); one warp per
// (i, a), lanes over b, a fixed shuffle tree: deterministic.
__global__ void grad_x_kernel(int64_t rows, int64_t rows_per_cond, int64_t ni, int64_t no, const float* __restrict__ S,
                              const float* __restrict__ g_b, const float* __restrict__ gpre,
                              const float* __restrict__ x, int32_t x_act, float* __restrict__ grad_x) {
    const int lane = static_cast<int>(threadIdx.x) % 32;
    const int64_t warps = int64_t(gridDim.x) * (blockDim.x / 32);
    for (int64_t w = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32; w < rows * ni; w += warps) {
        const int64_t i = w / ni, a = w % ni;
        const float* s = S + (i / rows_per_cond) * ni * no + a * no;
        const float* gb = g_b ? g_b + a * no : nullptr;
        const float* gp = gpre + i * no;
        float acc = 0.0f;
        for (int64_t b = lane; b < no; b += 32) acc = fmaf(s[b] + (gb ? __ldg(gb + b) : 0.0f), __ldg(gp + b), acc);
        for (int off = 16; off > 0; off /= 2) acc += __shfl_down_sync(0xffffffffu, acc, off);
        if (lane == 0) grad_x[w] = x_act != DYNREC_ACT_NONE ? acc * activation_grad_dev(x_act, __ldg(x + w)) : acc;
    }
}

// gS[g, a*no + b] = sum_{r < R} x[g R + r, a] gpre[g R + r, b] (rows in order: deterministic).
__global__ void outer_rows_kernel(int64_t groups, int64_t rows_per_cond, int64_t ni, int64_t no,
                                  const float* __restrict__ x, const float* __restrict__ gpre,
                                  float* __restrict__ gS) {
    const int64_t per_group = ni * no;
    DYNREC_CUDA_FOR(e, groups * per_group) {
        const int64_t g = e / per_group, r = e % per_group, a = r / no, b = r % no;
        float acc = 0.0f;
        for (int64_t k = 0; k < rows_per_cond; ++k) {
            const int64_t i = g * rows_per_cond + k;
            acc = fmaf(__ldg(x + i * ni + a), __ldg(gpre + i * no + b), acc);
        }
        gS[e] = acc;
    }
}

unsigned warp_blocks(int64_t warps) { return blocks_for(warps * 32, kThreads); }

}  // namespace

int64_t hyper_materialized_chunk_rows(const HyperLinearShape& s) {
    const int64_t per_row = s.n_in * s.n_out, groups = s.groups();
    const int64_t rows = cuda_hyper_chunk_floats() / per_row;  // 64 MiB of S unless configured
    return rows < 1 ? 1 : (rows < groups ? rows : groups);
}

int64_t hyper_materialized_workspace_floats(const HyperLinearShape& s) {
    // S of a chunk, and with shared conditions each group's sum of gpre (grad_z's and grad_c_w's c_w terms).
    const int64_t chunk = hyper_materialized_chunk_rows(s);
    return chunk * s.n_in * s.n_out + (s.rows_per_cond > 1 ? chunk * s.n_out : 0);
}

void hyper_materialized_forward(void* stream, const HyperLinearShape& s, const float* x, const float* z,
                                const float* g_w, const float* g_b, const float* c_w, const float* c_b,
                                int32_t activation, float* y, float* workspace) {
    const int64_t ni = s.n_in, no = s.n_out, nc = s.n_cond, R = s.rows_per_cond, G = s.groups();
    const int64_t chunk = hyper_materialized_chunk_rows(s);
    for (int64_t g0 = 0; g0 < G; g0 += chunk) {
        const int64_t groups = G - g0 < chunk ? G - g0 : chunk, rows = groups * R, r0 = g0 * R;
        const float* zc = z + g0 * nc;
        sgemm(stream, false, true, groups, ni * no, nc, 1.0f, zc, nc, g_w, nc, 0.0f, workspace, ni * no);
        // z c_w^T: by cuBLAS into y with a condition per row, in the apply kernel per group otherwise.
        const bool cw_in_y = c_w && R == 1;
        if (cw_in_y) sgemm(stream, false, true, rows, no, nc, 1.0f, zc, nc, c_w, nc, 0.0f, y + r0 * no, no);
        apply_rows_kernel<<<blocks_for(rows * no, kThreads), kThreads, 0, as_stream(stream)>>>(
            rows, R, ni, no, nc, x + r0 * ni, workspace, g_b, cw_in_y, c_w && R > 1 ? zc : nullptr, c_w, c_b,
            activation, y + r0 * no);
        check_launch("apply_rows_kernel");
    }
}

void hyper_materialized_backward_pre(void* stream, const HyperLinearShape& s, const float* x, const float* z,
                                     const float* g_w, const float* g_b, const float* c_w, const float* gpre,
                                     const HyperLinearGrads& g, int32_t x_activation, bool accumulate_z,
                                     float* workspace) {
    const int64_t B = s.batch, ni = s.n_in, no = s.n_out, nc = s.n_cond, R = s.rows_per_cond, G = s.groups();
    const int64_t chunk = hyper_materialized_chunk_rows(s);
    // The parts that need no S, over the whole batch (grad_c_w per chunk below when rows share conditions).
    if (g.c_b) column_sums(stream, B, no, gpre, g.c_b);
    if (g.c_w && R == 1) sgemm(stream, true, false, no, nc, B, 1.0f, gpre, no, z, nc, 0.0f, g.c_w, nc);
    if (g.g_b) sgemm(stream, true, false, ni, no, B, 1.0f, x, ni, gpre, no, 0.0f, g.g_b, no);
    const bool grouped_cw = R > 1 && (g.c_w || (g.z && c_w));
    if (!g.x && !g.g_w && !g.z && !grouped_cw) return;
    float* const gsum = workspace + chunk * ni * no;  // [chunk, n_out] when R > 1
    for (int64_t g0 = 0; g0 < G; g0 += chunk) {
        const int64_t groups = G - g0 < chunk ? G - g0 : chunk, rows = groups * R, r0 = g0 * R;
        const float* zc = z + g0 * nc;
        const float* gc = gpre + r0 * no;
        // gpre summed over each group's rows: what c_w's terms see (gpre itself when R = 1).
        const float* gs = gc;
        if (grouped_cw) {
            sum_row_groups(stream, groups, R, no, gc, gsum, false);
            gs = gsum;
            if (g.c_w)  // chunks add up in order
                sgemm(stream, true, false, no, nc, groups, 1.0f, gsum, no, zc, nc, g0 > 0 ? 1.0f : 0.0f, g.c_w, nc);
        }
        if (g.x) {
            sgemm(stream, false, true, groups, ni * no, nc, 1.0f, zc, nc, g_w, nc, 0.0f, workspace, ni * no);
            grad_x_kernel<<<warp_blocks(rows * ni), kThreads, 0, as_stream(stream)>>>(
                rows, R, ni, no, workspace, g_b, gc, x + r0 * ni, x_activation, g.x + r0 * ni);
            check_launch("grad_x_kernel");
        }
        if (!g.g_w && !g.z) continue;
        outer_rows_kernel<<<blocks_for(groups * ni * no, kThreads), kThreads, 0, as_stream(stream)>>>(
            groups, R, ni, no, x + r0 * ni, gc, workspace);
        check_launch("outer_rows_kernel");
        if (g.g_w)  // chunks add up in order
            sgemm(stream, true, false, ni * no, nc, groups, 1.0f, workspace, ni * no, zc, nc, g0 > 0 ? 1.0f : 0.0f,
                  g.g_w, nc);
        if (g.z) {
            sgemm(stream, false, false, groups, nc, ni * no, 1.0f, workspace, ni * no, g_w, nc,
                  accumulate_z ? 1.0f : 0.0f, g.z + g0 * nc, nc);
            if (c_w) sgemm(stream, false, false, groups, nc, no, 1.0f, gs, no, c_w, nc, 1.0f, g.z + g0 * nc, nc);
        }
    }
}

}  // namespace dynrec::cuda
