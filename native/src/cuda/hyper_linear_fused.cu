// hyper_linear = outer-product GEMMs (see hyper_linear_fused.cuh). Index map
// of the generator weight: g_w[(a*n_out + b)*n_cond + c] for input a, output b,
// condition c; g_b[a*n_out + b]; c_w[b*n_cond + c]; c_b[b].
#include "cuda/common.cuh"
#include "cuda/hyper_linear_fused.cuh"
#include "cuda/outer_gemm.cuh"

namespace dynrec::cuda {

namespace {

__global__ void pre_activation_grad_kernel(int64_t n, int32_t act, const float* __restrict__ y,
                                           const float* __restrict__ grad_y, float* __restrict__ gp) {
    DYNREC_CUDA_FOR(e, n) { gp[e] = grad_y[e] * activation_grad_dev(act, y[e]); }
}

int64_t wgrad_floats(int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond) {
    // Always both ones columns, so the split (and this size) depends on the shape alone.
    return outer_gemm_wgrad_workspace_floats(batch, n_out, n_in + 1, n_cond + 1);
}

}  // namespace

int64_t hyper_fused_workspace_bytes(int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond) {
    return int64_t(sizeof(float)) * (batch * n_out + wgrad_floats(batch, n_in, n_out, n_cond));
}

void hyper_fused_forward(void* stream, int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond, const float* x,
                         const float* z, const float* g_w, const float* g_b, const float* c_w, const float* c_b,
                         int32_t activation, float* y) {
    // y = act([x,1] ⊗ [z,1] · W), W(a, c, b) = g_w | g_b (c = n_cond) | c_w (a = n_in) | c_b.
    const OuterFactors f{x, n_in, n_in, c_w != nullptr || c_b != nullptr,
                         z, n_cond, n_cond, g_b != nullptr || c_b != nullptr};
    OuterRegions<const float> w;
    w.main = g_w, w.main_p = n_out * n_cond, w.main_q = 1, w.main_n = n_cond;
    w.q_aug = g_b, w.q_aug_p = n_out, w.q_aug_n = 1;
    w.p_aug = c_w, w.p_aug_q = 1, w.p_aug_n = n_cond;
    w.both = c_b, w.both_n = 1;
    outer_gemm_rows(stream, batch, n_out, f, w, activation, y, n_out);
}

void hyper_fused_backward(void* stream, int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond, const float* x,
                          const float* z, const float* g_w, const float* g_b, const float* c_w, int32_t activation,
                          const float* y, const float* grad_y, float* grad_x, float* grad_z, float* grad_g_w,
                          float* grad_g_b, float* grad_c_w, float* grad_c_b, void* workspace) {
    float* gp_buf = static_cast<float*>(workspace);
    float* partial = gp_buf + batch * n_out;
    const float* gp = grad_y;  // dL/d(pre-activation)
    if (activation != DYNREC_ACT_NONE) {
        pre_activation_grad_kernel<<<blocks_for(batch * n_out, 256), 256, 0, as_stream(stream)>>>(
            batch * n_out, activation, y, grad_y, gp_buf);
        check_launch("pre_activation_grad_kernel");
        gp = gp_buf;
    }
    if (grad_x) {
        // grad_x[i, a] = sum_{b, c} gp[i,b] [z,1][i,c] W(a, c, b)
        const OuterFactors f{gp, n_out, n_out, false, z, n_cond, n_cond, g_b != nullptr};
        OuterRegions<const float> w;
        w.main = g_w, w.main_p = n_cond, w.main_q = 1, w.main_n = n_out * n_cond;
        w.q_aug = g_b, w.q_aug_p = 1, w.q_aug_n = n_out;
        outer_gemm_rows(stream, batch, n_in, f, w, DYNREC_ACT_NONE, grad_x, n_in);
    }
    if (grad_z) {
        // grad_z[i, c] = sum_{a, b} [x,1][i,a] gp[i,b] W(a, c, b)
        const OuterFactors f{x, n_in, n_in, c_w != nullptr, gp, n_out, n_out, false};
        OuterRegions<const float> w;
        w.main = g_w, w.main_p = n_out * n_cond, w.main_q = n_cond, w.main_n = 1;
        w.p_aug = c_w, w.p_aug_q = n_cond, w.p_aug_n = 1;
        outer_gemm_rows(stream, batch, n_cond, f, w, DYNREC_ACT_NONE, grad_z, n_cond);
    }
    if (grad_g_w || grad_g_b || grad_c_w || grad_c_b) {
        // D(a, c, b) = sum_i [x,1][i,a] [z,1][i,c] gp[i,b], scattered into the four gradients.
        const OuterFactors f{x, n_in, n_in, true, z, n_cond, n_cond, true};
        OuterRegions<float> out;
        out.main = grad_g_w, out.main_p = n_out * n_cond, out.main_q = 1, out.main_n = n_cond;
        out.q_aug = grad_g_b, out.q_aug_p = n_out, out.q_aug_n = 1;
        out.p_aug = grad_c_w, out.p_aug_q = 1, out.p_aug_n = n_cond;
        out.both = grad_c_b, out.both_n = 1;
        outer_gemm_wgrad(stream, batch, n_out, f, gp, n_out, out, partial);
    }
}

}  // namespace dynrec::cuda
