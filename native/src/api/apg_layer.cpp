// apg_layer exports: validate every argument (shapes, the mode's parameter
// slots, unused slots NULL), then dispatch to CPU or CUDA.
#include <string>
#include <utility>
#include <vector>

#include "common/apg_plan.h"
#include "common/error.h"
#include "common/validate.h"
#include "cpu/apg_layer.h"
#if DYNREC_WITH_CUDA
#include "cuda/apg_layer.cuh"
#include "cuda/graph_cache.cuh"
#endif

using namespace dynrec;

namespace {

ApgPlan check_plan(int64_t batch, int64_t n, int64_t m, int64_t n_cond, int32_t uv_shared, int64_t mf_k, int64_t mf_p,
                   int32_t inner_activation, int32_t activation) {
    check_positive("batch", batch);
    check_positive("n", n);
    check_positive("m", m);
    check_positive("n_cond", n_cond);
    check_flag("uv_shared", uv_shared);
    check_positive("mf_k", mf_k);
    check_non_negative("mf_p", mf_p);
    check_activation("inner_activation", inner_activation);
    check_activation("activation", activation);
    const ApgPlan plan = make_apg_plan(batch, n, m, n_cond, uv_shared == 1, mf_k, mf_p, inner_activation, activation);
    checked_elements("x [batch, n]", {batch, n});
    checked_elements("z [batch, n_cond]", {batch, n_cond});
    checked_elements("y [batch, m]", {batch, m});
    int64_t saved = 0;
    for (int s = 0; s < plan.n_steps; ++s) {
        const ApgStep& st = plan.steps[s];
        const std::string name = apg_slot_name(st.slot);
        if (st.generated)
            checked_elements((name + " [n_in*n_out, n_cond]").c_str(), {st.n_in, st.n_out, n_cond});
        else
            checked_elements((name + " [n_out, n_in]").c_str(), {st.n_out, st.n_in});
        if (s + 1 < plan.n_steps) saved += checked_elements("saved", {batch, st.n_out});
    }
    checked_elements("saved", {saved});
    return plan;
}

const char* mode_text(const ApgPlan& plan) {
    if (plan.p > 0) return "uv_shared = 1 with mf_p > 0 (NP, PK, KK, KP, PM)";
    if (plan.steps[0].generated) return "uv_shared = 0 (generated NK, KK, KM)";
    return "uv_shared = 1 with mf_p = 0 (NK, KK, KM)";
}

// Required weights present; slots the mode does not use NULL. `prefix` is
// "" for parameters and "grad_" for gradient outputs (all optional).
template <class Ptr>
void check_slots(const ApgPlan& plan, const Ptr* slots, const char* prefix, bool weights_required) {
    for (int slot = 0; slot < kApgSlots; ++slot) {
        const std::string name = std::string(prefix) + apg_slot_name(slot);
        if (!plan.slot_used(slot)) {
            if (slots[slot] != nullptr)
                throw_invalid(name + ": must be NULL: the mode " + mode_text(plan) + " does not use it");
            continue;
        }
        if (!weights_required) continue;
        for (int s = 0; s < plan.n_steps; ++s)
            if (plan.steps[s].slot == slot) check_not_null(name.c_str(), slots[slot]);
    }
}

template <class Ptr>
void check_slot_locations(int32_t device, const Ptr* slots, const char* prefix) {
    for (int slot = 0; slot < kApgSlots; ++slot)
        check_pointer_location(device, (std::string(prefix) + apg_slot_name(slot)).c_str(), slots[slot]);
}

int64_t workspace_need(int32_t device, const ApgPlan& plan) {
#if DYNREC_WITH_CUDA
    if (device == DYNREC_DEVICE_CUDA) return cuda::apg_layer_workspace_bytes(plan);
#endif
    (void)device;
    (void)plan;
    return 0;  // the CPU kernels allocate their own scratch
}

}  // namespace

extern "C" {

DYNREC_API dynrec_status dynrec_apg_layer_dims(int64_t n, int64_t m, int32_t uv_shared, int64_t mf_k, int64_t mf_p,
                                               int64_t* k, int64_t* p) {
    return guard(__func__, [&] {
        const ApgPlan plan = check_plan(1, n, m, 1, uv_shared, mf_k, mf_p, DYNREC_ACT_NONE, DYNREC_ACT_NONE);
        check_not_null("k", k);
        check_not_null("p", p);
        *k = plan.k;
        *p = plan.p;
    });
}

DYNREC_API dynrec_status dynrec_apg_layer_saved_size(int64_t batch, int64_t n, int64_t m, int32_t uv_shared,
                                                     int64_t mf_k, int64_t mf_p, int64_t* elements) {
    return guard(__func__, [&] {
        const ApgPlan plan = check_plan(batch, n, m, 1, uv_shared, mf_k, mf_p, DYNREC_ACT_NONE, DYNREC_ACT_NONE);
        check_not_null("elements", elements);
        *elements = plan.saved_elements();
    });
}

DYNREC_API dynrec_status dynrec_apg_layer_workspace_size(int32_t device, int64_t batch, int64_t n, int64_t m,
                                                         int64_t n_cond, int32_t uv_shared, int64_t mf_k,
                                                         int64_t mf_p, int64_t* bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const ApgPlan plan = check_plan(batch, n, m, n_cond, uv_shared, mf_k, mf_p, DYNREC_ACT_NONE, DYNREC_ACT_NONE);
        check_not_null("bytes", bytes);
        *bytes = workspace_need(device, plan);
    });
}

#define DYNREC_APG_PARAMS                                                                                   \
    const float* w_in, const float* b_in, const float* w_pk, const float* b_pk, const float* kk_gw,         \
        const float* kk_gb, const float* kk_cw, const float* kk_cb, const float* w_kp, const float* b_kp,   \
        const float* w_out, const float* b_out, const float* nk_gw, const float* nk_gb, const float* nk_cw, \
        const float* nk_cb, const float* km_gw, const float* km_gb, const float* km_cw, const float* km_cb
#define DYNREC_APG_PARAM_ARRAY                                                                                    \
    {w_in, b_in, w_pk, b_pk, kk_gw, kk_gb, kk_cw, kk_cb, w_kp, b_kp, w_out, b_out, nk_gw, nk_gb, nk_cw, nk_cb, \
     km_gw, km_gb, km_cw, km_cb}
// The backward takes only the weights that carry gradients (no biases).
#define DYNREC_APG_BACKWARD_PARAMS                                                                           \
    const float* w_in, const float* w_pk, const float* kk_gw, const float* kk_gb, const float* kk_cw,        \
        const float* w_kp, const float* w_out, const float* nk_gw, const float* nk_gb, const float* nk_cw,   \
        const float* km_gw, const float* km_gb, const float* km_cw
#define DYNREC_APG_BACKWARD_PARAM_ARRAY                                                                          \
    {w_in, nullptr, w_pk, nullptr, kk_gw, kk_gb, kk_cw, nullptr, w_kp, nullptr, w_out, nullptr, nk_gw, nk_gb, \
     nk_cw, nullptr, km_gw, km_gb, km_cw, nullptr}
#define DYNREC_APG_GRADS                                                                                     \
    float *grad_w_in, float *grad_b_in, float *grad_w_pk, float *grad_b_pk, float *grad_kk_gw,               \
        float *grad_kk_gb, float *grad_kk_cw, float *grad_kk_cb, float *grad_w_kp, float *grad_b_kp,         \
        float *grad_w_out, float *grad_b_out, float *grad_nk_gw, float *grad_nk_gb, float *grad_nk_cw,       \
        float *grad_nk_cb, float *grad_km_gw, float *grad_km_gb, float *grad_km_cw, float *grad_km_cb
#define DYNREC_APG_GRAD_ARRAY                                                                                 \
    {grad_w_in, grad_b_in, grad_w_pk, grad_b_pk, grad_kk_gw, grad_kk_gb, grad_kk_cw, grad_kk_cb, grad_w_kp, \
     grad_b_kp, grad_w_out, grad_b_out, grad_nk_gw, grad_nk_gb, grad_nk_cw, grad_nk_cb, grad_km_gw,          \
     grad_km_gb, grad_km_cw, grad_km_cb}

namespace {

void check_forward(int32_t device, const ApgPlan& plan, const float* x, const float* z, const float* const* params,
                   const float* saved, const float* y) {
    check_not_null("x", x);
    check_not_null("z", z);
    check_not_null("y", y);
    if (device == DYNREC_DEVICE_CUDA && saved == nullptr)
        throw_invalid("saved: must not be NULL with device = CUDA (the inner steps' outputs live there)");
    check_slots(plan, params, "", true);
    check_locations(device, {{"x", x}, {"z", z}, {"saved", saved}, {"y", y}});
    check_slot_locations(device, params, "");
}

void check_backward(int32_t device, const ApgPlan& plan, const float* x, const float* z, const float* const* params,
                    const float* saved, const float* y, const float* grad_y, const float* grad_x,
                    const float* grad_z, float* const* grads) {
    check_not_null("x", x);
    check_not_null("z", z);
    check_not_null("saved", saved);
    if (plan.activation != DYNREC_ACT_NONE && y == nullptr)
        throw_invalid("y: must not be NULL when activation != DYNREC_ACT_NONE (its derivative is taken from y)");
    check_not_null("grad_y", grad_y);
    check_slots(plan, params, "", true);
    check_slots(plan, grads, "grad_", false);
    check_locations(device, {{"x", x}, {"z", z}, {"saved", saved}, {"y", y}, {"grad_y", grad_y}, {"grad_x", grad_x},
                             {"grad_z", grad_z}});
    check_slot_locations(device, params, "");
    check_slot_locations(device, grads, "grad_");
}

}  // namespace

DYNREC_API dynrec_status dynrec_apg_layer_forward(int32_t device, void* stream, int64_t batch, int64_t n, int64_t m,
                                                  int64_t n_cond, int32_t uv_shared, int64_t mf_k, int64_t mf_p,
                                                  int32_t inner_activation, int32_t activation, const float* x,
                                                  const float* z, DYNREC_APG_PARAMS, float* saved, float* y,
                                                  void* workspace, int64_t workspace_bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const ApgPlan plan = check_plan(batch, n, m, n_cond, uv_shared, mf_k, mf_p, inner_activation, activation);
        const float* const params[kApgSlots] = DYNREC_APG_PARAM_ARRAY;
        check_forward(device, plan, x, z, params, saved, y);
        check_non_negative("workspace_bytes", workspace_bytes);
        check_pointer_location(device, "workspace", workspace);
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            // Optional in the forward: NULL runs the generated steps' GEMMs unsplit.
            if (workspace != nullptr)
                check_workspace("dynrec_apg_layer_workspace_size", workspace_need(device, plan), workspace,
                                workspace_bytes);
            const auto key = cuda::GraphKey("dynrec_apg_layer_forward")
                                 .add(stream, batch, n, m, n_cond, uv_shared, mf_k, mf_p, inner_activation,
                                      activation, x, z, saved, y, workspace, workspace_bytes)
                                 .add_array(params, kApgSlots);
            cuda::run_graphed(stream, key, [&](void* s) {
                cuda::apg_layer_forward(s, plan, x, z, params, saved, y, workspace);
            });
#endif
            return;
        }
        (void)stream;
        cpu::apg_layer_forward(plan, x, z, params, saved, y);
    });
}

DYNREC_API dynrec_status dynrec_apg_layer_backward(int32_t device, void* stream, int64_t batch, int64_t n, int64_t m,
                                                   int64_t n_cond, int32_t uv_shared, int64_t mf_k, int64_t mf_p,
                                                   int32_t inner_activation, int32_t activation, const float* x,
                                                   const float* z, DYNREC_APG_BACKWARD_PARAMS, const float* saved,
                                                   const float* y, const float* grad_y, float* grad_x, float* grad_z,
                                                   DYNREC_APG_GRADS, void* workspace, int64_t workspace_bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const ApgPlan plan = check_plan(batch, n, m, n_cond, uv_shared, mf_k, mf_p, inner_activation, activation);
        const float* const params[kApgSlots] = DYNREC_APG_BACKWARD_PARAM_ARRAY;
        float* const grads[kApgSlots] = DYNREC_APG_GRAD_ARRAY;
        check_backward(device, plan, x, z, params, saved, y, grad_y, grad_x, grad_z, grads);
        check_non_negative("workspace_bytes", workspace_bytes);
        check_pointer_location(device, "workspace", workspace);
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            check_workspace("dynrec_apg_layer_workspace_size", workspace_need(device, plan), workspace,
                            workspace_bytes);
            const auto key = cuda::GraphKey("dynrec_apg_layer_backward")
                                 .add(stream, batch, n, m, n_cond, uv_shared, mf_k, mf_p, inner_activation,
                                      activation, x, z, saved, y, grad_y, grad_x, grad_z, workspace, workspace_bytes)
                                 .add_array(params, kApgSlots)
                                 .add_array(grads, kApgSlots);
            cuda::run_graphed(stream, key, [&](void* s) {
                cuda::apg_layer_backward(s, plan, x, z, params, saved, y, grad_y, grad_x, grad_z, grads, workspace);
            });
#endif
            return;
        }
        (void)stream;
        (void)workspace;
        cpu::apg_layer_backward(plan, x, z, params, saved, y, grad_y, grad_x, grad_z, grads);
    });
}

DYNREC_API dynrec_status dynrec_apg_layer_forward_reference(int64_t batch, int64_t n, int64_t m, int64_t n_cond,
                                                            int32_t uv_shared, int64_t mf_k, int64_t mf_p,
                                                            int32_t inner_activation, int32_t activation,
                                                            const float* x, const float* z, DYNREC_APG_PARAMS,
                                                            float* saved, float* y) {
    return guard(__func__, [&] {
        const ApgPlan plan = check_plan(batch, n, m, n_cond, uv_shared, mf_k, mf_p, inner_activation, activation);
        const float* const params[kApgSlots] = DYNREC_APG_PARAM_ARRAY;
        check_forward(DYNREC_DEVICE_CPU, plan, x, z, params, saved, y);
        cpu::apg_layer_forward_reference(plan, x, z, params, saved, y);
    });
}

DYNREC_API dynrec_status dynrec_apg_layer_backward_reference(int64_t batch, int64_t n, int64_t m, int64_t n_cond,
                                                             int32_t uv_shared, int64_t mf_k, int64_t mf_p,
                                                             int32_t inner_activation, int32_t activation,
                                                             const float* x, const float* z,
                                                             DYNREC_APG_BACKWARD_PARAMS, const float* saved,
                                                             const float* y, const float* grad_y, float* grad_x,
                                                             float* grad_z, DYNREC_APG_GRADS) {
    return guard(__func__, [&] {
        const ApgPlan plan = check_plan(batch, n, m, n_cond, uv_shared, mf_k, mf_p, inner_activation, activation);
        const float* const params[kApgSlots] = DYNREC_APG_BACKWARD_PARAM_ARRAY;
        float* const grads[kApgSlots] = DYNREC_APG_GRAD_ARRAY;
        check_backward(DYNREC_DEVICE_CPU, plan, x, z, params, saved, y, grad_y, grad_x, grad_z, grads);
        cpu::apg_layer_backward_reference(plan, x, z, params, saved, y, grad_y, grad_x, grad_z, grads);
    });
}

}  // extern "C"
