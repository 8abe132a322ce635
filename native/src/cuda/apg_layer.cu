// apg_layer on CUDA: the chain of CUDA steps (dense: cuBLAS + elementwise
// epilogue; generated: hyper_linear's S-free kernels), each writing its
// output into `saved` (or y). Backward walks the chain on pre-activation
// gradients held in two workspace buffers (the last step reads grad_y itself
// when the layer has no output activation), the previous step's activation
// derivative applied to each input gradient; grad_z is accumulated over the
// generated steps. Scratch: two gradient buffers plus the split-K partial
// sums of the generated steps' GEMMs (hyper_linear_pre_workspace_bytes), which
// the forward uses too. With DYNREC_HYPER_PATH_FUSED the whole chain runs in
// the fused kernels instead (fused_chain.cuh) where its sizes fit them.
#include "common/math_mode.h"
#include "cuda/apg_layer.cuh"
#include "cuda/common.cuh"
#include "cuda/dense.cuh"
#include "cuda/fused_chain.cuh"
#include "cuda/hyper_linear.cuh"

namespace dynrec::cuda {

namespace {
// Largest split-K scratch any generated step's weight gradients use.
int64_t hyper_scratch_bytes(const ApgPlan& plan) {
    int64_t most = 0;
    for (int s = 0; s < plan.n_steps; ++s) {
        const ApgStep& st = plan.steps[s];
        if (!st.generated) continue;
        const int64_t b = hyper_linear_pre_workspace_bytes({plan.batch, st.n_in, st.n_out, plan.n_cond});
        most = b > most ? b : most;
    }
    return most;
}
// The layer as a fused chain: step s writes its output to `saved` (y for the last).
FusedChain as_fused_chain(const ApgPlan& plan, const float* x, const float* z, const float* const* params,
                          const float* saved, const float* y) {
    FusedChain c{};
    c.batch = plan.batch, c.n_cond = plan.n_cond, c.n_steps = plan.n_steps, c.x = x, c.z = z;
    for (int s = 0; s < plan.n_steps; ++s) {
        const ApgStep& st = plan.steps[s];
        const float* const* p = params ? params + st.slot : nullptr;
        const float* out = s + 1 == plan.n_steps ? y : (saved ? saved + plan.saved_offset(s) : nullptr);
        c.steps[s] = {st.generated, st.n_in, st.n_out, plan.step_activation(s), p ? p[0] : nullptr,
                      p ? p[1] : nullptr, p && st.generated ? p[2] : nullptr, p && st.generated ? p[3] : nullptr,
                      const_cast<float*>(out)};
    }
    return c;
}

bool use_fused(const FusedChain& c) { return cuda_hyper_path() == DYNREC_HYPER_PATH_FUSED && fused_chain_fits(c); }

}  // namespace

int64_t apg_layer_workspace_bytes(const ApgPlan& plan) {
    // Two pre-activation gradient buffers, then the generated steps' split-K scratch; or what the
    // fused path takes, if more (sized for both, so the path may change between calls).
    const int64_t chain = static_cast<int64_t>(sizeof(float)) * 2 * plan.batch * plan.max_width() +
                          hyper_scratch_bytes(plan);
    const FusedChain c = as_fused_chain(plan, nullptr, nullptr, nullptr, nullptr, nullptr);
    const int64_t fused = fused_chain_fits(c) ? int64_t(sizeof(float)) * fused_chain_workspace_floats(c) : 0;
    return chain > fused ? chain : fused;
}

void apg_layer_forward(void* stream, const ApgPlan& plan, const float* x, const float* z, const float* const* params,
                       float* saved, float* y, void* workspace) {
    const FusedChain chain = as_fused_chain(plan, x, z, params, saved, y);
    if (use_fused(chain)) {
        fused_chain_forward(stream, chain);
        return;
    }
    // The forward needs only the generated steps' split-K scratch (NULL: unsplit).
    void* hyper_scratch =
        workspace ? static_cast<float*>(workspace) + 2 * plan.batch * plan.max_width() : nullptr;
    const float* h = x;
    for (int s = 0; s < plan.n_steps; ++s) {
        const ApgStep& st = plan.steps[s];
        float* out = s + 1 == plan.n_steps ? y : saved + plan.saved_offset(s);
        const float* const* p = params + st.slot;
        if (st.generated)
            hyper_linear_forward(stream, {plan.batch, st.n_in, st.n_out, plan.n_cond}, h, z, p[0], p[1], p[2], p[3],
                                 plan.step_activation(s), out, hyper_scratch);
        else
            dense_forward(stream, plan.batch, st.n_in, st.n_out, h, p[0], p[1], plan.step_activation(s), out);
        h = out;
    }
}

void apg_layer_backward(void* stream, const ApgPlan& plan, const float* x, const float* z,
                        const float* const* params, const float* saved, const float* y, const float* grad_y,
                        float* grad_x, float* grad_z, float* const* grads, void* workspace) {
    const FusedChain chain = as_fused_chain(plan, x, z, params, saved, y);
    if (use_fused(chain)) {
        FusedStepGrads g[kFusedMaxSteps];
        for (int s = 0; s < plan.n_steps; ++s) {
            float* const* gs = grads + plan.steps[s].slot;
            const bool gen = plan.steps[s].generated;
            g[s] = {gs[0], gs[1], gen ? gs[2] : nullptr, gen ? gs[3] : nullptr};
        }
        fused_chain_backward(stream, chain, grad_y, grad_x, grad_z, g, static_cast<float*>(workspace));
        return;
    }
    const int64_t B = plan.batch, last = plan.n_steps - 1;
    float* bufs[2] = {static_cast<float*>(workspace), static_cast<float*>(workspace) + B * plan.max_width()};
    void* hyper_scratch = bufs[1] + B * plan.max_width();
    // The current step's pre-activation gradient: grad_y itself when the layer has no output activation.
    const float* gcur = grad_y;
    int next = 0;  // the buffer the next input gradient goes to (never the one gcur reads)
    if (plan.activation != DYNREC_ACT_NONE) {
        activation_grad(stream, B * plan.steps[last].n_out, plan.activation, y, grad_y, bufs[0]);
        gcur = bufs[0], next = 1;
    }
    bool z_started = false;
    for (int s = static_cast<int>(last); s >= 0; --s) {
        const ApgStep& st = plan.steps[s];
        const float* in = s == 0 ? x : saved + plan.saved_offset(s - 1);
        float* gx = s == 0 ? grad_x : bufs[next];
        const int32_t in_act = s == 0 ? DYNREC_ACT_NONE : plan.inner_activation;
        const float* const* p = params + st.slot;
        float* const* g = grads + st.slot;
        if (st.generated) {
            hyper_linear_backward_pre(stream, {B, st.n_in, st.n_out, plan.n_cond}, in, z, p[0], p[1], p[2], gcur,
                                      {gx, grad_z, g[0], g[1], g[2], g[3]}, in_act, z_started, hyper_scratch);
            z_started = true;
        } else {
            dense_backward_pre(stream, B, st.n_in, st.n_out, in, p[0], gcur, gx, g[0], g[1], in_act);
        }
        gcur = gx, next ^= 1;
    }
}

}  // namespace dynrec::cuda
