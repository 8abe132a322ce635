// apg_layer's chain as data, shared by the API layer, the CPU kernels and the
// CUDA launcher: which steps run, their sizes, which parameter slots they
// read, and where their outputs sit in `saved`.
//
// FunRec's APGLayer (TensorFlow, "APGLayer.call"), matched here:
//   k = ceil(min(n, m) / mf_k), p = ceil(min(n, m) / mf_p);
//   every step adds a bias (shared steps: shared_bias_*; generated steps:
//   specific_bias_* = a Dense over the condition);
//   inner_activation follows every step except the last (NP, PK, KK, KP, or
//   NK, KK), the output activation follows the last (PM or KM);
//   generated weights come from a single Dense layer over the condition (DNNs
//   with one unit list: bias, no activation) reshaped row-major to [in, out],
//   which is exactly hyper_linear's S. Weights use torch's [out, in] layout.
#pragma once

#include <cstdint>

#include "dynrec/dynrec.h"

namespace dynrec {

// Parameter slots, in the order of dynrec_apg_layer_forward's arguments.
enum ApgSlot : int {
    kApgWIn, kApgBIn, kApgWPk, kApgBPk,
    kApgKkGw, kApgKkGb, kApgKkCw, kApgKkCb,
    kApgWKp, kApgBKp, kApgWOut, kApgBOut,
    kApgNkGw, kApgNkGb, kApgNkCw, kApgNkCb,
    kApgKmGw, kApgKmGb, kApgKmCw, kApgKmCb,
    kApgSlots
};

inline const char* apg_slot_name(int slot) {
    static const char* const names[kApgSlots] = {
        "w_in", "b_in", "w_pk", "b_pk", "kk_gw", "kk_gb", "kk_cw", "kk_cb", "w_kp", "b_kp",
        "w_out", "b_out", "nk_gw", "nk_gb", "nk_cw", "nk_cb", "km_gw", "km_gb", "km_cw", "km_cb"};
    return slot >= 0 && slot < kApgSlots ? names[slot] : "?";
}

// One step: dense (weight at `slot`, bias at slot + 1) or generated
// (hyper_linear: gw at `slot`, then gb, cw, cb).
struct ApgStep {
    bool generated;
    int64_t n_in, n_out;
    int slot;
};

struct ApgPlan {
    int64_t batch, n, m, n_cond, k, p;
    int32_t inner_activation, activation;
    int n_steps;
    ApgStep steps[5];

    int32_t step_activation(int s) const { return s + 1 == n_steps ? activation : inner_activation; }
    // Offset (floats) of step s's output in `saved`, s < n_steps - 1.
    int64_t saved_offset(int s) const {
        int64_t off = 0;
        for (int t = 0; t < s; ++t) off += batch * steps[t].n_out;
        return off;
    }
    int64_t saved_elements() const { return saved_offset(n_steps - 1); }
    int64_t max_width() const {
        int64_t w = n;
        for (int s = 0; s < n_steps; ++s) w = w > steps[s].n_out ? w : steps[s].n_out;
        return w;
    }
    bool slot_used(int slot) const {
        for (int s = 0; s < n_steps; ++s) {
            const int span = steps[s].generated ? 4 : 2;
            if (slot >= steps[s].slot && slot < steps[s].slot + span) return true;
        }
        return false;
    }
};

inline int64_t apg_ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Sizes must be positive and mf_k >= 1, mf_p >= 0 (checked by the caller).
inline ApgPlan make_apg_plan(int64_t batch, int64_t n, int64_t m, int64_t n_cond, bool uv_shared, int64_t mf_k,
                             int64_t mf_p, int32_t inner_activation, int32_t activation) {
    ApgPlan plan{};
    plan.batch = batch;
    plan.n = n;
    plan.m = m;
    plan.n_cond = n_cond;
    const int64_t lo = n < m ? n : m;
    plan.k = apg_ceil_div(lo, mf_k);
    plan.p = uv_shared && mf_p > 0 ? apg_ceil_div(lo, mf_p) : 0;
    plan.inner_activation = inner_activation;
    plan.activation = activation;
    const int64_t k = plan.k, p = plan.p;
    if (uv_shared && p > 0) {
        plan.n_steps = 5;  // NP -> PK -> KK -> KP -> PM
        plan.steps[0] = {false, n, p, kApgWIn};
        plan.steps[1] = {false, p, k, kApgWPk};
        plan.steps[2] = {true, k, k, kApgKkGw};
        plan.steps[3] = {false, k, p, kApgWKp};
        plan.steps[4] = {false, p, m, kApgWOut};
    } else if (uv_shared) {
        plan.n_steps = 3;  // NK -> KK -> KM
        plan.steps[0] = {false, n, k, kApgWIn};
        plan.steps[1] = {true, k, k, kApgKkGw};
        plan.steps[2] = {false, k, m, kApgWOut};
    } else {
        plan.n_steps = 3;  // generated NK -> KK -> KM
        plan.steps[0] = {true, n, k, kApgNkGw};
        plan.steps[1] = {true, k, k, kApgKkGw};
        plan.steps[2] = {true, k, m, kApgKmGw};
    }
    return plan;
}

}  // namespace dynrec
