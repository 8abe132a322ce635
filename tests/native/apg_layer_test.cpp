// apg_layer: every mode (uv_shared with / without the P steps, generated),
// inner and output activations: optimized vs reference forward and backward
// on odd shapes; both vs the unfused chain of exported reference ops
// (gated_linear with a unit gate as the dense step, hyper_linear);
// backward vs finite differences; k / p / saved sizes; NULL outputs
// skipped; validation (including the mode's parameter slots); thread safety.
#include <cmath>
#include <string>
#include <thread>

#include "dynrec/dynrec.h"
#include "test_util.h"

using namespace dynrec_test;

namespace {

enum Slot { W_IN, B_IN, W_PK, B_PK, KK_GW, KK_GB, KK_CW, KK_CB, W_KP, B_KP, W_OUT, B_OUT,
            NK_GW, NK_GB, NK_CW, NK_CB, KM_GW, KM_GB, KM_CW, KM_CB, SLOTS };

struct Step {
    bool generated;
    int64_t n_in, n_out;
    int slot;
};

struct Case {
    int64_t batch, n, m, n_cond;
    int32_t uv_shared;
    int64_t mf_k, mf_p;
    int32_t inner, act;
    bool biases = true;
    std::string name() const {
        return "B" + std::to_string(batch) + " " + std::to_string(n) + "->" + std::to_string(m) + " cond " +
               std::to_string(n_cond) + " uv " + std::to_string(uv_shared) + " mf_k " + std::to_string(mf_k) +
               " mf_p " + std::to_string(mf_p) + " inner " + std::to_string(inner) + " act " + std::to_string(act);
    }
    int64_t k() const { return (std::min(n, m) + mf_k - 1) / mf_k; }
    int64_t p() const { return uv_shared && mf_p > 0 ? (std::min(n, m) + mf_p - 1) / mf_p : 0; }
    // FunRec's chain, written out independently of the library.
    std::vector<Step> steps() const {
        const int64_t K = k(), P = p();
        if (uv_shared && P > 0)
            return {{false, n, P, W_IN}, {false, P, K, W_PK}, {true, K, K, KK_GW}, {false, K, P, W_KP}, {false, P, m, W_OUT}};
        if (uv_shared) return {{false, n, K, W_IN}, {true, K, K, KK_GW}, {false, K, m, W_OUT}};
        return {{true, n, K, NK_GW}, {true, K, K, KK_GW}, {true, K, m, KM_GW}};
    }
    int64_t saved_size() const {
        int64_t s = 0;
        const auto st = steps();
        for (size_t i = 0; i + 1 < st.size(); ++i) s += batch * st[i].n_out;
        return s;
    }
};

struct Data {
    Case c;
    std::vector<float> x, z;
    std::vector<std::vector<float>> param;  // by slot; empty = unused
    Data(const Case& k, uint32_t seed) : c(k), param(SLOTS) {
        x = random_vector(c.batch * c.n, seed);
        z = random_vector(c.batch * c.n_cond, seed + 1);
        for (const Step& s : c.steps()) {
            const float scale = 1.5f / std::sqrt(float(s.n_in));
            if (s.generated) {
                const float gs = scale / std::sqrt(float(c.n_cond));
                param[s.slot] = random_vector(s.n_in * s.n_out * c.n_cond, seed + 2 + s.slot, -gs, gs);
                param[s.slot + 1] = random_vector(s.n_in * s.n_out, seed + 3 + s.slot, -scale, scale);
                param[s.slot + 2] = random_vector(s.n_out * c.n_cond, seed + 4 + s.slot, -0.3f, 0.3f);
                param[s.slot + 3] = random_vector(s.n_out, seed + 5 + s.slot, -0.2f, 0.2f);
            } else {
                param[s.slot] = random_vector(s.n_out * s.n_in, seed + 2 + s.slot, -scale, scale);
                param[s.slot + 1] = random_vector(s.n_out, seed + 3 + s.slot, -0.2f, 0.2f);
            }
        }
    }
    bool is_bias(int slot) const {
        for (const Step& s : c.steps())
            if (slot > s.slot && slot < s.slot + (s.generated ? 4 : 2)) return true;
        return false;
    }
    const float* ptr(int slot) const {
        if (param[slot].empty() || (!c.biases && is_bias(slot))) return nullptr;
        return param[slot].data();
    }
};

struct Fwd {
    std::vector<float> saved, y;
};

struct Grads {
    std::vector<float> x, z;
    std::vector<std::vector<float>> param;
};

Fwd forward(const Data& d, bool reference) {
    const Case& c = d.c;
    Fwd f{std::vector<float>(c.saved_size()), std::vector<float>(c.batch * c.m)};
    auto P = [&](int s) { return d.ptr(s); };
    const dynrec_status st =
        reference
            ? dynrec_apg_layer_forward_reference(c.batch, c.n, c.m, c.n_cond, c.uv_shared, c.mf_k, c.mf_p, c.inner,
                                                 c.act, d.x.data(), d.z.data(), P(0), P(1), P(2), P(3), P(4), P(5),
                                                 P(6), P(7), P(8), P(9), P(10), P(11), P(12), P(13), P(14), P(15),
                                                 P(16), P(17), P(18), P(19), f.saved.data(), f.y.data())
            : dynrec_apg_layer_forward(DYNREC_DEVICE_CPU, nullptr, c.batch, c.n, c.m, c.n_cond, c.uv_shared, c.mf_k,
                                       c.mf_p, c.inner, c.act, d.x.data(), d.z.data(), P(0), P(1), P(2), P(3), P(4),
                                       P(5), P(6), P(7), P(8), P(9), P(10), P(11), P(12), P(13), P(14), P(15), P(16),
                                       P(17), P(18), P(19), f.saved.data(), f.y.data(), nullptr, 0);
    EXPECT_EQ(st, DYNREC_OK) << dynrec_last_error();
    return f;
}

// `want` selects the gradient outputs (by slot, plus x and z); others NULL.
Grads backward(const Data& d, bool reference, const Fwd& f, const std::vector<float>& gy, int only_slot = -1,
               bool want_x = true, bool want_z = true) {
    const Case& c = d.c;
    Grads g{std::vector<float>(want_x ? d.x.size() : 0, -7.f), std::vector<float>(want_z ? d.z.size() : 0, -7.f),
            std::vector<std::vector<float>>(SLOTS)};
    for (int s = 0; s < SLOTS; ++s)
        if (!d.param[s].empty() && (only_slot < 0 || only_slot == s)) g.param[s].assign(d.param[s].size(), -7.f);
    auto P = [&](int s) { return d.ptr(s); };
    auto G = [&](int s) { return g.param[s].empty() ? nullptr : g.param[s].data(); };
    float* gx = want_x ? g.x.data() : nullptr;
    float* gz = want_z ? g.z.data() : nullptr;
    const dynrec_status st =
        reference
            ? dynrec_apg_layer_backward_reference(
                  c.batch, c.n, c.m, c.n_cond, c.uv_shared, c.mf_k, c.mf_p, c.inner, c.act, d.x.data(), d.z.data(),
                  P(W_IN), P(W_PK), P(KK_GW), P(KK_GB), P(KK_CW), P(W_KP), P(W_OUT), P(NK_GW), P(NK_GB), P(NK_CW),
                  P(KM_GW), P(KM_GB), P(KM_CW), f.saved.data(), f.y.data(), gy.data(), gx, gz, G(0), G(1), G(2),
                  G(3), G(4), G(5), G(6), G(7), G(8), G(9), G(10), G(11), G(12), G(13), G(14), G(15), G(16), G(17),
                  G(18), G(19))
            : dynrec_apg_layer_backward(
                  DYNREC_DEVICE_CPU, nullptr, c.batch, c.n, c.m, c.n_cond, c.uv_shared, c.mf_k, c.mf_p, c.inner,
                  c.act, d.x.data(), d.z.data(), P(W_IN), P(W_PK), P(KK_GW), P(KK_GB), P(KK_CW), P(W_KP), P(W_OUT),
                  P(NK_GW), P(NK_GB), P(NK_CW), P(KM_GW), P(KM_GB), P(KM_CW), f.saved.data(), f.y.data(), gy.data(),
                  gx, gz, G(0), G(1), G(2), G(3), G(4), G(5), G(6), G(7), G(8), G(9), G(10), G(11), G(12), G(13),
                  G(14), G(15), G(16), G(17), G(18), G(19), nullptr, 0);
    EXPECT_EQ(st, DYNREC_OK) << dynrec_last_error();
    return g;
}

void expect_grads_close(const Grads& a, const Grads& b, float atol, float rtol) {
    EXPECT_TRUE(all_close(a.x, b.x, atol, rtol)) << "grad_x";
    EXPECT_TRUE(all_close(a.z, b.z, atol, rtol)) << "grad_z";
    for (int s = 0; s < SLOTS; ++s) EXPECT_TRUE(all_close(a.param[s], b.param[s], atol, rtol)) << "slot " << s;
}

const int32_t kActivations[] = {DYNREC_ACT_NONE, DYNREC_ACT_RELU, DYNREC_ACT_SIGMOID, DYNREC_ACT_TANH,
                                DYNREC_ACT_LEAKY_RELU};

std::vector<Case> odd_cases() {
    std::vector<Case> cases;
    struct Mode { int32_t uv; int64_t mf_k, mf_p; };
    const Mode modes[] = {{1, 4, 3}, {1, 2, 0}, {0, 3, 2}};
    for (const Mode& md : modes) {
        int k = 0;
        for (int32_t inner : kActivations)
            for (int32_t act : {DYNREC_ACT_NONE, DYNREC_ACT_SIGMOID, DYNREC_ACT_LEAKY_RELU}) {
                const int64_t b = odd_batches()[(k++) % 3];  // 1, 7, 33
                cases.push_back({b, 13, 37, 5, md.uv, md.mf_k, md.mf_p, inner, act, k % 4 != 0});
            }
        cases.push_back({1000, 37, 13, 16, md.uv, md.mf_k, md.mf_p, DYNREC_ACT_RELU, DYNREC_ACT_TANH});
        cases.push_back({33, 67, 67, 3, md.uv, md.mf_k, md.mf_p, DYNREC_ACT_TANH, DYNREC_ACT_RELU});
    }
    return cases;
}

}  // namespace

TEST(ApgLayer, OptimizedForwardMatchesReferenceOnOddShapes) {
    for (const Case& c : odd_cases()) {
        SCOPED_TRACE(c.name());
        Data d(c, 3);
        const Fwd r = forward(d, true), o = forward(d, false);
        EXPECT_TRUE(all_close(o.saved, r.saved, 1e-5f, 1e-4f));
        EXPECT_TRUE(all_close(o.y, r.y, 1e-5f, 1e-4f));
    }
}

TEST(ApgLayer, OptimizedBackwardMatchesReferenceOnOddShapes) {
    for (const Case& c : odd_cases()) {
        SCOPED_TRACE(c.name());
        Data d(c, 13);
        const Fwd f = forward(d, true);
        const auto gy = random_vector(c.batch * c.m, 6);
        expect_grads_close(backward(d, false, f, gy), backward(d, true, f, gy), 1e-4f, 2e-4f);
    }
}

// The fused layer equals the unfused chain of exported reference ops: each
// dense step is gated_linear's reference with a unit gate (y = act(x W^T +
// b)), each generated step hyper_linear's reference; backward through the
// same ops in reverse, grad_z summed over the generated steps.
TEST(ApgLayer, MatchesUnfusedChainOfReferenceOps) {
    for (const Case& c : {Case{33, 13, 37, 5, 1, 4, 3, DYNREC_ACT_TANH, DYNREC_ACT_SIGMOID},
                          Case{7, 37, 13, 4, 1, 2, 0, DYNREC_ACT_RELU, DYNREC_ACT_NONE},
                          Case{33, 13, 11, 3, 0, 2, 0, DYNREC_ACT_LEAKY_RELU, DYNREC_ACT_TANH}}) {
        SCOPED_TRACE(c.name());
        Data d(c, 23);
        const auto steps = c.steps();
        std::vector<std::vector<float>> h{d.x};
        for (size_t s = 0; s < steps.size(); ++s) {
            const Step& st = steps[s];
            const int32_t act = s + 1 == steps.size() ? c.act : c.inner;
            std::vector<float> out(c.batch * st.n_out);
            if (st.generated) {
                ASSERT_EQ(dynrec_hyper_linear_forward_reference(c.batch, st.n_in, st.n_out, c.n_cond, 1, h.back().data(),
                                                                d.z.data(), d.ptr(st.slot), d.ptr(st.slot + 1),
                                                                d.ptr(st.slot + 2), d.ptr(st.slot + 3), act, out.data()),
                          DYNREC_OK);
            } else {
                const std::vector<float> ones(c.batch * st.n_out, 1.0f);
                ASSERT_EQ(dynrec_gated_linear_forward_reference(1, c.batch, st.n_in, st.n_out, DYNREC_GATE_OUTPUT, act,
                                                                1, h.back().data(), d.ptr(st.slot), d.ptr(st.slot + 1),
                                                                ones.data(), nullptr, out.data()),
                          DYNREC_OK);
            }
            h.push_back(out);
        }
        const Fwd o = forward(d, false);
        EXPECT_TRUE(all_close(o.y, h.back(), 1e-5f, 1e-4f));
        std::vector<float> saved;
        for (size_t s = 1; s + 1 < h.size(); ++s) saved.insert(saved.end(), h[s].begin(), h[s].end());
        EXPECT_TRUE(all_close(o.saved, saved, 1e-5f, 1e-4f));

        const auto gy = random_vector(c.batch * c.m, 7);
        Grads chain{std::vector<float>(), std::vector<float>(d.z.size(), 0.0f), std::vector<std::vector<float>>(SLOTS)};
        std::vector<float> g = gy;  // dL / d(step output)
        for (int s = static_cast<int>(steps.size()) - 1; s >= 0; --s) {
            const Step& st = steps[s];
            const int32_t act = s + 1 == static_cast<int>(steps.size()) ? c.act : c.inner;
            std::vector<float> gin(c.batch * st.n_in);
            if (st.generated) {
                std::vector<float> gz(d.z.size());
                for (int k = 0; k < 4; ++k) chain.param[st.slot + k].resize(d.param[st.slot + k].size());
                ASSERT_EQ(dynrec_hyper_linear_backward_reference(
                              c.batch, st.n_in, st.n_out, c.n_cond, 1, h[s].data(), d.z.data(), d.ptr(st.slot),
                              d.ptr(st.slot + 1), d.ptr(st.slot + 2), act, h[s + 1].data(), g.data(), gin.data(),
                              gz.data(), chain.param[st.slot].data(), chain.param[st.slot + 1].data(),
                              chain.param[st.slot + 2].data(), chain.param[st.slot + 3].data()),
                          DYNREC_OK);
                for (size_t k = 0; k < gz.size(); ++k) chain.z[k] += gz[k];
            } else {
                const std::vector<float> ones(c.batch * st.n_out, 1.0f);
                chain.param[st.slot].resize(d.param[st.slot].size());
                chain.param[st.slot + 1].resize(d.param[st.slot + 1].size());
                ASSERT_EQ(dynrec_gated_linear_backward_reference(
                              1, c.batch, st.n_in, st.n_out, DYNREC_GATE_OUTPUT, act, 1, h[s].data(), d.ptr(st.slot),
                              ones.data(), h[s + 1].data(), g.data(), gin.data(), chain.param[st.slot].data(),
                              chain.param[st.slot + 1].data(), nullptr),
                          DYNREC_OK);
            }
            g.swap(gin);
        }
        chain.x = g;
        expect_grads_close(backward(d, false, o, gy), chain, 1e-4f, 2e-4f);
    }
}

TEST(ApgLayer, BackwardMatchesFiniteDifferences) {
    for (const Case& c : {Case{4, 6, 5, 3, 1, 2, 2, DYNREC_ACT_TANH, DYNREC_ACT_SIGMOID},
                          Case{4, 5, 6, 3, 1, 2, 0, DYNREC_ACT_SIGMOID, DYNREC_ACT_TANH},
                          Case{4, 5, 4, 3, 0, 2, 0, DYNREC_ACT_TANH, DYNREC_ACT_NONE},
                          Case{3, 6, 6, 2, 1, 3, 2, DYNREC_ACT_LEAKY_RELU, DYNREC_ACT_RELU}}) {
        SCOPED_TRACE(c.name());
        Data d(c, 33);
        const auto probe = random_vector(c.batch * c.m, 9);
        const Grads g = backward(d, false, forward(d, true), probe);
        auto loss = [&] { return dot(forward(d, true).y, probe); };
        EXPECT_TRUE(matches_finite_difference(g.x, finite_difference(d.x, loss), 2e-3, 2e-2)) << "x";
        EXPECT_TRUE(matches_finite_difference(g.z, finite_difference(d.z, loss), 2e-3, 2e-2)) << "z";
        for (int s = 0; s < SLOTS; ++s) {
            if (d.param[s].empty()) continue;
            EXPECT_TRUE(matches_finite_difference(g.param[s], finite_difference(d.param[s], loss), 2e-3, 2e-2))
                << "slot " << s;
        }
    }
}

TEST(ApgLayer, DimsAndSavedSizeFollowFunRec) {
    int64_t k = 0, p = 0, saved = 0;
    ASSERT_EQ(dynrec_apg_layer_dims(256, 128, 1, 4, 4, &k, &p), DYNREC_OK);
    EXPECT_EQ(k, 32);
    EXPECT_EQ(p, 32);
    ASSERT_EQ(dynrec_apg_layer_dims(13, 37, 1, 4, 3, &k, &p), DYNREC_OK);
    EXPECT_EQ(k, 4);  // ceil(13 / 4)
    EXPECT_EQ(p, 5);  // ceil(13 / 3)
    ASSERT_EQ(dynrec_apg_layer_dims(13, 37, 1, 4, 0, &k, &p), DYNREC_OK);
    EXPECT_EQ(p, 0);
    ASSERT_EQ(dynrec_apg_layer_dims(13, 37, 0, 4, 3, &k, &p), DYNREC_OK);
    EXPECT_EQ(p, 0);  // mf_p is ignored without uv_shared
    ASSERT_EQ(dynrec_apg_layer_saved_size(10, 13, 37, 1, 4, 3, &saved), DYNREC_OK);
    EXPECT_EQ(saved, 10 * (5 + 4 + 4 + 5));
    ASSERT_EQ(dynrec_apg_layer_saved_size(10, 13, 37, 0, 4, 3, &saved), DYNREC_OK);
    EXPECT_EQ(saved, 10 * (4 + 4));
    int64_t bytes = -1;
    ASSERT_EQ(dynrec_apg_layer_workspace_size(DYNREC_DEVICE_CPU, 10, 13, 37, 5, 1, 4, 3, &bytes), DYNREC_OK);
    EXPECT_EQ(bytes, 0);
}

TEST(ApgLayer, ForwardWithoutSavedGivesSameOutput) {
    Case c{33, 13, 37, 5, 1, 4, 3, DYNREC_ACT_RELU, DYNREC_ACT_SIGMOID};
    Data d(c, 43);
    const Fwd f = forward(d, false);
    std::vector<float> y(f.y.size());
    auto P = [&](int s) { return d.ptr(s); };
    ASSERT_EQ(dynrec_apg_layer_forward(DYNREC_DEVICE_CPU, nullptr, 33, 13, 37, 5, 1, 4, 3, c.inner, c.act, d.x.data(),
                                       d.z.data(), P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7), P(8), P(9), P(10),
                                       P(11), P(12), P(13), P(14), P(15), P(16), P(17), P(18), P(19), nullptr,
                                       y.data(), nullptr, 0),
              DYNREC_OK)
        << dynrec_last_error();
    EXPECT_TRUE(all_close(y, f.y, 0.0f, 0.0f));
}

TEST(ApgLayer, NullGradientOutputsAreSkipped) {
    for (const Case& c : {Case{33, 13, 37, 5, 1, 4, 3, DYNREC_ACT_TANH, DYNREC_ACT_SIGMOID},
                          Case{33, 13, 37, 5, 0, 4, 0, DYNREC_ACT_TANH, DYNREC_ACT_SIGMOID}}) {
        SCOPED_TRACE(c.name());
        Data d(c, 53);
        const Fwd f = forward(d, false);
        const auto gy = random_vector(c.batch * c.m, 2);
        const Grads full = backward(d, false, f, gy);
        const Grads only_x = backward(d, false, f, gy, SLOTS, true, false);
        EXPECT_TRUE(all_close(only_x.x, full.x, 0.0f, 0.0f));
        const Grads only_z = backward(d, false, f, gy, SLOTS, false, true);
        EXPECT_TRUE(all_close(only_z.z, full.z, 0.0f, 0.0f));
        for (int s = 0; s < SLOTS; ++s) {
            if (d.param[s].empty()) continue;
            const Grads one = backward(d, false, f, gy, s, false, false);
            EXPECT_TRUE(all_close(one.param[s], full.param[s], 0.0f, 0.0f)) << "slot " << s;
        }
    }
}

TEST(ApgLayer, ValidationNamesTheOffendingArgument) {
    Case c{4, 6, 5, 3, 1, 2, 2, DYNREC_ACT_RELU, DYNREC_ACT_NONE};
    Data d(c, 63);
    std::vector<float> saved(c.saved_size()), y(c.batch * c.m);
    std::vector<const float*> P(SLOTS);
    for (int s = 0; s < SLOTS; ++s) P[s] = d.ptr(s);
    auto fwd = [&](int32_t dev, int64_t B, int64_t n, int32_t uv, int64_t mf_k, int64_t mf_p, int32_t inner,
                   const float* x, const std::vector<const float*>& p, float* yy) {
        return dynrec_apg_layer_forward(dev, nullptr, B, n, 5, 3, uv, mf_k, mf_p, inner, DYNREC_ACT_NONE, x,
                                        d.z.data(), p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10],
                                        p[11], p[12], p[13], p[14], p[15], p[16], p[17], p[18], p[19], saved.data(),
                                        yy, nullptr, 0);
    };
    const float* x = d.x.data();
    ASSERT_EQ(fwd(0, 4, 6, 1, 2, 2, 1, x, P, y.data()), DYNREC_OK) << dynrec_last_error();
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 6, 1, 2, 2, 1, nullptr, P, y.data()), "x"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 6, 1, 2, 2, 1, x, P, nullptr), "y"));
    EXPECT_TRUE(rejected_naming(fwd(0, 0, 6, 1, 2, 2, 1, x, P, y.data()), "batch"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, -6, 1, 2, 2, 1, x, P, y.data()), "n"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 6, 3, 2, 2, 1, x, P, y.data()), "uv_shared"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 6, 1, 0, 2, 1, x, P, y.data()), "mf_k"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 6, 1, 2, -1, 1, x, P, y.data()), "mf_p"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 6, 1, 2, 2, 17, x, P, y.data()), "inner_activation"));
    EXPECT_TRUE(rejected_naming(fwd(0, int64_t(1) << 30, int64_t(1) << 30, 1, 2, 2, 1, x, P, y.data()), "x"));
    EXPECT_TRUE(rejected_naming(fwd(5, 4, 6, 1, 2, 2, 1, x, P, y.data()), "device"));
    int32_t gpus = 0;
    ASSERT_EQ(dynrec_cuda_device_count(&gpus), DYNREC_OK);
    if (gpus == 0) {
        EXPECT_TRUE(rejected_naming(fwd(DYNREC_DEVICE_CUDA, 4, 6, 1, 2, 2, 1, x, P, y.data()), "device"));
    }
    // The mode's weights are required...
    for (int slot : {W_IN, W_PK, KK_GW, W_KP, W_OUT}) {
        auto q = P;
        q[slot] = nullptr;
        const char* names[] = {"w_in", "", "w_pk", "", "kk_gw", "", "", "", "w_kp", "", "w_out"};
        EXPECT_TRUE(rejected_naming(fwd(0, 4, 6, 1, 2, 2, 1, x, q, y.data()), names[slot]));
    }
    // ... biases are optional ...
    {
        auto q = P;
        q[B_IN] = q[KK_GB] = q[KK_CW] = q[KK_CB] = nullptr;
        EXPECT_EQ(fwd(0, 4, 6, 1, 2, 2, 1, x, q, y.data()), DYNREC_OK);
    }
    // ... and the slots other modes use must be NULL.
    {
        auto q = P;
        q[NK_GW] = d.x.data();
        EXPECT_TRUE(rejected_naming(fwd(0, 4, 6, 1, 2, 2, 1, x, q, y.data()), "nk_gw"));
        EXPECT_TRUE(rejected_naming(fwd(0, 4, 6, 1, 2, 0, 1, x, P, y.data()), "w_pk"));  // mode without P steps
        EXPECT_TRUE(rejected_naming(fwd(0, 4, 6, 0, 2, 2, 1, x, P, y.data()), "w_in"));  // generated mode
    }
    // Backward.
    const auto gy = random_vector(c.batch * c.m, 1);
    std::vector<float> gx(d.x.size()), gwin(d.param[W_IN].size());
    auto bwd = [&](const float* sv, const float* yy, const float* g, int32_t act, float* gnk, int64_t ws) {
        return dynrec_apg_layer_backward(0, nullptr, 4, 6, 5, 3, 1, 2, 2, DYNREC_ACT_RELU, act, x, d.z.data(),
                                         P[W_IN], P[W_PK], P[KK_GW], P[KK_GB], P[KK_CW], P[W_KP], P[W_OUT], nullptr,
                                         nullptr, nullptr, nullptr, nullptr, nullptr, sv, yy, g, gx.data(), nullptr,
                                         gwin.data(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                         nullptr, nullptr, nullptr, nullptr, gnk, nullptr, nullptr, nullptr, nullptr,
                                         nullptr, nullptr, nullptr, nullptr, ws);
    };
    ASSERT_EQ(bwd(saved.data(), y.data(), gy.data(), DYNREC_ACT_SIGMOID, nullptr, 0), DYNREC_OK) << dynrec_last_error();
    EXPECT_TRUE(rejected_naming(bwd(nullptr, y.data(), gy.data(), DYNREC_ACT_NONE, nullptr, 0), "saved"));
    EXPECT_TRUE(rejected_naming(bwd(saved.data(), nullptr, gy.data(), DYNREC_ACT_SIGMOID, nullptr, 0), "y"));
    EXPECT_EQ(bwd(saved.data(), nullptr, gy.data(), DYNREC_ACT_NONE, nullptr, 0), DYNREC_OK);
    EXPECT_TRUE(rejected_naming(bwd(saved.data(), y.data(), nullptr, DYNREC_ACT_NONE, nullptr, 0), "grad_y"));
    EXPECT_TRUE(rejected_naming(bwd(saved.data(), y.data(), gy.data(), DYNREC_ACT_NONE, gx.data(), 0), "grad_nk_gw"));
    EXPECT_TRUE(rejected_naming(bwd(saved.data(), y.data(), gy.data(), DYNREC_ACT_NONE, nullptr, -1),
                                "workspace_bytes"));
    EXPECT_TRUE(rejected_naming(dynrec_apg_layer_dims(13, 37, 1, 4, 3, nullptr, nullptr), "k"));
    EXPECT_TRUE(rejected_naming(dynrec_apg_layer_saved_size(10, 13, 37, 1, 0, 3, nullptr), "mf_k"));
    int64_t bytes = 0;
    EXPECT_TRUE(rejected_naming(dynrec_apg_layer_workspace_size(0, 10, 13, 37, 0, 1, 4, 3, &bytes), "n_cond"));
}

TEST(ApgLayer, ConcurrentCallsGiveIdenticalResults) {
    Case c{257, 64, 48, 8, 1, 4, 4, DYNREC_ACT_RELU, DYNREC_ACT_SIGMOID};
    Data d(c, 73);
    const Fwd f0 = forward(d, false);
    const auto gy = random_vector(c.batch * c.m, 4);
    const Grads g0 = backward(d, false, f0, gy);
    std::vector<Fwd> fs(4);
    std::vector<Grads> gs(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int rep = 0; rep < 3; ++rep) {
                fs[t] = forward(d, false);
                gs[t] = backward(d, false, fs[t], gy);
            }
        });
    for (auto& th : threads) th.join();
    for (int t = 0; t < 4; ++t) {
        EXPECT_TRUE(all_close(fs[t].y, f0.y, 0.0f, 0.0f));
        expect_grads_close(gs[t], g0, 0.0f, 0.0f);
    }
}
