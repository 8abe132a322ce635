// Optimized apg_layer: the chain of optimized steps (dense: gemm_rows with
// fused bias + activation; generated: the S-free hyper_linear kernels), with
// the glue fused away:
//   - every step writes its activation output straight into `saved` (or y)
//     from its GEMM epilogue: no separate bias / activation passes;
//   - backward runs on pre-activation gradients: each step's input gradient
//     is multiplied by the previous step's activation derivative inside the
//     same GEMM epilogue that produces it, so it arrives as the previous
//     step's gpre with no extra pass;
//   - grad_z of the generated steps is accumulated in place by their
//     epilogues.
// The shared dense GEMMs are not merged algebraically into the generated
// step's GEMM: their outputs must be saved for backward anyway, and at
// FunRec's sizes they are ~10% of the flops, so folding them (only possible
// without an inner activation) would not pay for its complexity.
// Threads: inside each step (batch row blocks / GEMM work items).
#include "cpu/apg_layer.h"

#include <algorithm>
#include <vector>

#include "cpu/activation.h"
#include "cpu/dense.h"
#include "cpu/hyper_linear.h"
#include "cpu/parallel.h"

namespace dynrec::cpu {

void apg_layer_forward(const ApgPlan& plan, const float* x, const float* z, const float* const* params, float* saved,
                       float* y) {
    std::vector<float> scratch;
    if (saved == nullptr) {
        scratch.resize(static_cast<size_t>(plan.saved_elements()));
        saved = scratch.data();
    }
    const float* h = x;
    for (int s = 0; s < plan.n_steps; ++s) {
        const ApgStep& st = plan.steps[s];
        float* out = s + 1 == plan.n_steps ? y : saved + plan.saved_offset(s);
        const float* const* p = params + st.slot;
        if (st.generated)
            hyper_linear_forward({plan.batch, st.n_in, st.n_out, plan.n_cond}, h, z, p[0], p[1], p[2], p[3],
                                 plan.step_activation(s), out);
        else
            dense_forward(plan.batch, st.n_in, st.n_out, h, p[0], p[1], plan.step_activation(s), out);
        h = out;
    }
}

void apg_layer_backward(const ApgPlan& plan, const float* x, const float* z, const float* const* params,
                        const float* saved, const float* y, const float* grad_y, float* grad_x, float* grad_z,
                        float* const* grads) {
    const int64_t B = plan.batch, last = plan.n_steps - 1, width = plan.max_width();
    std::vector<float> gpre(static_cast<size_t>(B * width)), gin(static_cast<size_t>(B * width));
    const int64_t n_last = plan.steps[last].n_out;
    parallel_for(0, B, 64, [&](int64_t i0, int64_t i1) {
        std::copy(grad_y + i0 * n_last, grad_y + i1 * n_last, gpre.data() + i0 * n_last);
        if (y) mul_activation_grad(plan.activation, y + i0 * n_last, gpre.data() + i0 * n_last, (i1 - i0) * n_last);
    });
    bool z_started = false;
    for (int s = static_cast<int>(last); s >= 0; --s) {
        const ApgStep& st = plan.steps[s];
        const float* in = s == 0 ? x : saved + plan.saved_offset(s - 1);
        // Input gradient: the previous step's gpre (its activation derivative
        // fused in), or grad_x for the first step.
        float* gx = s == 0 ? grad_x : gin.data();
        const int32_t in_act = s == 0 ? DYNREC_ACT_NONE : plan.inner_activation;
        const float* const* p = params + st.slot;
        float* const* g = grads + st.slot;
        if (st.generated) {
            hyper_linear_backward_pre({B, st.n_in, st.n_out, plan.n_cond}, in, z, p[0], p[1], p[2], gpre.data(),
                                      {gx, grad_z, g[0], g[1], g[2], g[3]}, in_act, z_started);
            z_started = true;
        } else {
            dense_backward_pre(B, st.n_in, st.n_out, in, p[0], gpre.data(), gx, g[0], g[1], in_act);
        }
        gpre.swap(gin);
    }
}

}  // namespace dynrec::cpu
