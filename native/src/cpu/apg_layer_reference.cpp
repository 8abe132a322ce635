// The spec of apg_layer: the chain of reference ops, step by step —
// dense_*_reference for shared steps, hyper_linear's reference for
// generated ones; activation derivatives from each step's output; grad_z
// summed over the generated steps. One thread, double accumulation inside
// each op.
#include <algorithm>
#include <vector>

#include "cpu/activation.h"
#include "cpu/apg_layer.h"
#include "cpu/dense.h"
#include "cpu/hyper_linear.h"

namespace dynrec::cpu {

void apg_layer_forward_reference(const ApgPlan& plan, const float* x, const float* z, const float* const* params,
                                 float* saved, float* y) {
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
            hyper_linear_forward_reference({plan.batch, st.n_in, st.n_out, plan.n_cond}, h, z, p[0], p[1], p[2], p[3],
                                           plan.step_activation(s), out);
        else
            dense_forward_reference(plan.batch, st.n_in, st.n_out, h, p[0], p[1], plan.step_activation(s), out);
        h = out;
    }
}

void apg_layer_backward_reference(const ApgPlan& plan, const float* x, const float* z, const float* const* params,
                                  const float* saved, const float* y, const float* grad_y, float* grad_x,
                                  float* grad_z, float* const* grads) {
    const int64_t B = plan.batch, last = plan.n_steps - 1;
    std::vector<float> gpre(grad_y, grad_y + B * plan.steps[last].n_out), gin, gz;
    if (y)
        for (size_t k = 0; k < gpre.size(); ++k) gpre[k] *= activation_grad_from_output(plan.activation, y[k]);
    if (grad_z) std::fill(grad_z, grad_z + B * plan.n_cond, 0.0f);
    for (int s = static_cast<int>(last); s >= 0; --s) {
        const ApgStep& st = plan.steps[s];
        const float* in = s == 0 ? x : saved + plan.saved_offset(s - 1);
        gin.assign(static_cast<size_t>(B * st.n_in), 0.0f);
        float* gx = s > 0 || grad_x ? gin.data() : nullptr;
        const float* const* p = params + st.slot;
        float* const* g = grads + st.slot;
        if (st.generated) {
            gz.assign(grad_z ? static_cast<size_t>(B * plan.n_cond) : 0, 0.0f);
            hyper_linear_backward_pre_reference({B, st.n_in, st.n_out, plan.n_cond}, in, z, p[0], p[1], p[2],
                                                gpre.data(), {gx, grad_z ? gz.data() : nullptr, g[0], g[1], g[2], g[3]});
            for (size_t k = 0; k < gz.size(); ++k) grad_z[k] += gz[k];
        } else {
            dense_backward_pre_reference(B, st.n_in, st.n_out, in, p[0], gpre.data(), gx, g[0], g[1]);
        }
        if (s == 0) {
            if (grad_x) std::copy(gin.begin(), gin.end(), grad_x);
            break;
        }
        // The previous step's output went through the inner activation.
        for (size_t k = 0; k < gin.size(); ++k) gin[k] *= activation_grad_from_output(plan.inner_activation, in[k]);
        gpre.swap(gin);
    }
}

}  // namespace dynrec::cpu
