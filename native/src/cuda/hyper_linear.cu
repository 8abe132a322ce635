// hyper_linear on CUDA through the outer-product GEMM engine (outer_gemm.cuh);
// S = reshape(z g_w^T + g_b) is never materialized.
//   forward:  y = act([x,1] ⊗ [z,1] · W), one kernel, where W(a, c, b) is
//             g_w[(a*n_out + b)*n_cond + c], g_b[a*n_out + b] (c = n_cond),
//             c_w[b*n_cond + c] (a = n_in), c_b[b] (both).
//   (every GEMM splits its reduction through the workspace when its output is
//   too small to fill the GPU; see outer_gemm.cu)
//   backward: gpre = grad_y * act'(y) (elementwise), then
//             grad_x = (gpre ⊗ [z,1]) · W  (rows form, epilogue * act'(x) for chains),
//             grad_z = ([x,1] ⊗ gpre) · W  (rows form, optionally accumulated),
//             all of grad_g_w, grad_g_b, grad_c_w, grad_c_b = one wgrad form
//             sum_i [x,1]_i ⊗ [z,1]_i ⊗ gpre_i with a deterministic split-K reduction.
// TF32 tensor cores (wmma) unless disabled (dynrec_cuda_set_tf32 / DYNREC_CUDA_TF32=0).
// The other path, S formed per chunk of rows by cuBLAS, is hyper_materialized.cu;
// `materialized` below picks one (dynrec_cuda_set_hyper_path, else by shape). The fused
// path (fused_chain.cu, on request where the sizes fit) runs the op per block of rows.
// Rows that share a condition (rows_per_cond > 1) always take the materialized
// path, which forms S once per condition row (and so requires the workspace).
#include "common/math_mode.h"
#include "cuda/common.cuh"
#include "cuda/dense.cuh"
#include "cuda/fused_chain.cuh"
#include "cuda/hyper_linear.cuh"
#include "cuda/hyper_materialized.cuh"
#include "cuda/outer_gemm.cuh"

namespace dynrec::cuda {

namespace {

OuterRegions<const float> forward_weights(const HyperLinearShape& s, const float* g_w, const float* g_b,
                                          const float* c_w, const float* c_b) {
    OuterRegions<const float> w;  // p = a (input), q = c (condition), n = b (output)
    w.main = g_w, w.main_p = s.n_out * s.n_cond, w.main_q = 1, w.main_n = s.n_cond;
    w.q_aug = g_b, w.q_aug_p = s.n_out, w.q_aug_n = 1;
    w.p_aug = c_w, w.p_aug_q = 1, w.p_aug_n = s.n_cond;
    w.both = c_b, w.both_n = 1;
    return w;
}

// The materialized path needs its workspace. AUTO follows the side-by-side H200 timings of both
// paths (2026-11-28, fwd+bwd, batch 1024/4096/16384, native/bench/gpu): the outer-product GEMMs
// lose once their reduction (n_in + 1)(n_cond + 1) is long (>= 4096: 2-3x slower at any batch);
// below that, with TF32 on, cuBLAS's TF32 GEMMs on S win from batch ~4096 on a condition of 8+
// (10-15%; at batch 1024 the outer path's fewer launches win by ~20%), while in exact FP32 our
// FMA tiles beat cuBLAS's SGEMMs (15-25%).
bool materialized(const HyperLinearShape& s, const void* workspace) {
    if (s.rows_per_cond > 1) return true;  // the API layer requires the workspace then
    if (workspace == nullptr) return false;
    switch (cuda_hyper_path()) {
        case DYNREC_HYPER_PATH_OUTER: return false;
        case DYNREC_HYPER_PATH_MATERIALIZED: return true;
        default: break;
    }
    if ((s.n_in + 1) * (s.n_cond + 1) >= 4096) return true;
    return cuda_tf32_enabled() && device_has_tf32() && s.n_cond >= 8 && s.batch >= 2048;
}

// The op as a one-step fused chain (DYNREC_HYPER_PATH_FUSED).
FusedChain as_fused_chain(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                          const float* g_b, const float* c_w, const float* c_b, int32_t activation, const float* y) {
    FusedChain c{};
    c.batch = s.batch, c.n_cond = s.n_cond, c.n_steps = 1, c.x = x, c.z = z;
    c.steps[0] = {true, s.n_in, s.n_out, activation, g_w, g_b, c_w, c_b, const_cast<float*>(y)};
    return c;
}

// The fused rows path takes one condition per row.
bool use_fused(const FusedChain& c, const HyperLinearShape& s) {
    return s.rows_per_cond == 1 && cuda_hyper_path() == DYNREC_HYPER_PATH_FUSED && fused_chain_fits(c);
}

}  // namespace

int64_t hyper_linear_pre_workspace_bytes(const HyperLinearShape& s) {
    // The split-K partial sums of whichever of the four outer-product GEMMs needs
    // most (they run one after another on the stream, so they share it). Sized with
    // every ones column present, so it depends on the shape alone.
    const int64_t ni = s.n_in, no = s.n_out, nc = s.n_cond, b = s.batch;
    int64_t floats = outer_gemm_wgrad_workspace_floats(b, no, ni + 1, nc + 1);
    for (const int64_t f : {outer_gemm_rows_workspace_floats(b, no, ni + 1, nc + 1),   // forward
                            outer_gemm_rows_workspace_floats(b, ni, no, nc + 1),       // grad_x
                            outer_gemm_rows_workspace_floats(b, nc, ni + 1, no),       // grad_z
                            hyper_materialized_workspace_floats(s)})                   // the other path
        floats = f > floats ? f : floats;
    return int64_t(sizeof(float)) * floats;
}

int64_t hyper_linear_workspace_bytes(const HyperLinearShape& s) {
    return int64_t(sizeof(float)) * s.batch * s.n_out + hyper_linear_pre_workspace_bytes(s);
}

void hyper_linear_forward(void* stream, const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                          const float* g_b, const float* c_w, const float* c_b, int32_t activation, float* y,
                          void* workspace) {
    const FusedChain chain = as_fused_chain(s, x, z, g_w, g_b, c_w, c_b, activation, y);
    if (use_fused(chain, s)) {
        fused_chain_forward(stream, chain);
        return;
    }
    if (materialized(s, workspace)) {
        hyper_materialized_forward(stream, s, x, z, g_w, g_b, c_w, c_b, activation, y, static_cast<float*>(workspace));
        return;
    }
    const OuterFactors f{x, s.n_in, s.n_in, c_w != nullptr || c_b != nullptr,
                         z, s.n_cond, s.n_cond, g_b != nullptr || c_b != nullptr};
    RowsEpilogue e;
    e.activation = activation;
    outer_gemm_rows(stream, s.batch, s.n_out, f, forward_weights(s, g_w, g_b, c_w, c_b), e, y, s.n_out,
                    static_cast<float*>(workspace));
}

void hyper_linear_backward_pre(void* stream, const HyperLinearShape& s, const float* x, const float* z,
                               const float* g_w, const float* g_b, const float* c_w, const float* gpre,
                               const HyperLinearGrads& g, int32_t x_activation, bool accumulate_z, void* workspace) {
    if (materialized(s, workspace)) {
        hyper_materialized_backward_pre(stream, s, x, z, g_w, g_b, c_w, gpre, g, x_activation, accumulate_z,
                                        static_cast<float*>(workspace));
        return;
    }
    const int64_t ni = s.n_in, no = s.n_out, nc = s.n_cond;
    if (g.x) {
        // grad_x[i, a] = sum_{b, c} gpre[i,b] [z,1][i,c] W(a, c, b): p = b, q = c, n = a.
        const OuterFactors f{gpre, no, no, false, z, nc, nc, g_b != nullptr};
        OuterRegions<const float> w;
        w.main = g_w, w.main_p = nc, w.main_q = 1, w.main_n = no * nc;
        w.q_aug = g_b, w.q_aug_p = 1, w.q_aug_n = no;
        RowsEpilogue e;
        if (x_activation != DYNREC_ACT_NONE) e.grad_of = x, e.grad_act = x_activation;
        outer_gemm_rows(stream, s.batch, ni, f, w, e, g.x, ni, static_cast<float*>(workspace));
    }
    if (g.z) {
        // grad_z[i, c] = sum_{a, b} [x,1][i,a] gpre[i,b] W(a, c, b): p = a, q = b, n = c.
        const OuterFactors f{x, ni, ni, c_w != nullptr, gpre, no, no, false};
        OuterRegions<const float> w;
        w.main = g_w, w.main_p = no * nc, w.main_q = nc, w.main_n = 1;
        w.p_aug = c_w, w.p_aug_q = nc, w.p_aug_n = 1;
        RowsEpilogue e;
        e.accumulate = accumulate_z;
        outer_gemm_rows(stream, s.batch, nc, f, w, e, g.z, nc, static_cast<float*>(workspace));
    }
    hyper_linear_weight_grads(stream, s, x, z, gpre, g, workspace);
}

void hyper_linear_weight_grads(void* stream, const HyperLinearShape& s, const float* x, const float* z,
                               const float* gpre, const HyperLinearGrads& g, void* workspace) {
    if (!g.g_w && !g.g_b && !g.c_w && !g.c_b) return;
    // D(a, c, b) = sum_i [x,1][i,a] [z,1][i,c] gpre[i,b], scattered into the four gradients.
    const int64_t ni = s.n_in, no = s.n_out, nc = s.n_cond;
    const OuterFactors f{x, ni, ni, true, z, nc, nc, true};
    OuterRegions<float> out;
    out.main = g.g_w, out.main_p = no * nc, out.main_q = 1, out.main_n = nc;
    out.q_aug = g.g_b, out.q_aug_p = no, out.q_aug_n = 1;
    out.p_aug = g.c_w, out.p_aug_q = 1, out.p_aug_n = nc;
    out.both = g.c_b, out.both_n = 1;
    outer_gemm_wgrad(stream, s.batch, no, f, gpre, no, out, static_cast<float*>(workspace));
}

void hyper_linear_backward(void* stream, const HyperLinearShape& s, const float* x, const float* z,
                           const float* g_w, const float* g_b, const float* c_w, int32_t activation, const float* y,
                           const float* grad_y, const HyperLinearGrads& grads, void* workspace) {
    const FusedChain chain = as_fused_chain(s, x, z, g_w, g_b, c_w, nullptr, activation, y);
    if (use_fused(chain, s)) {  // its workspace (gpre + wgrad scratch) fits in this op's
        const FusedStepGrads g{grads.g_w, grads.g_b, grads.c_w, grads.c_b};
        fused_chain_backward(stream, chain, grad_y, grads.x, grads.z, &g, static_cast<float*>(workspace));
        return;
    }
    float* gpre = static_cast<float*>(workspace);
    const float* pre = grad_y;  // activation NONE: the pre-activation gradient is grad_y itself
    if (activation != DYNREC_ACT_NONE) {
        activation_grad(stream, s.batch * s.n_out, activation, y, grad_y, gpre);
        pre = gpre;
    }
    hyper_linear_backward_pre(stream, s, x, z, g_w, g_b, c_w, pre, grads, DYNREC_ACT_NONE, false,
                              gpre + s.batch * s.n_out);
}

}  // namespace dynrec::cuda
