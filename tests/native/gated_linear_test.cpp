// gated_linear: optimized vs reference (forward, backward) for both gate
// positions, every activation, shared and per-tower input, odd shapes;
// backward vs finite differences; tower batching vs one call per tower;
// NULL outputs skipped; validation; thread safety.
#include <cmath>
#include <string>
#include <thread>

#include "dynrec/dynrec.h"
#include "test_util.h"

using namespace dynrec_test;

namespace {

const int32_t kActivations[] = {DYNREC_ACT_NONE, DYNREC_ACT_RELU, DYNREC_ACT_SIGMOID, DYNREC_ACT_TANH,
                                DYNREC_ACT_LEAKY_RELU};

struct Case {
    int64_t towers, batch, n_in, n_out;
    int32_t gate, act, shared;
    bool bias;
    int64_t n_gate() const { return gate == DYNREC_GATE_OUTPUT ? n_out : n_in; }
    int64_t x_size() const { return (shared ? 1 : towers) * batch * n_in; }
    int64_t y_size() const { return towers * batch * n_out; }
    std::string name() const {
        return "T" + std::to_string(towers) + " B" + std::to_string(batch) + " " + std::to_string(n_in) + "->" +
               std::to_string(n_out) + (gate == DYNREC_GATE_OUTPUT ? " out-gate" : " in-gate") + " act " +
               std::to_string(act) + (shared ? " shared-x" : " tower-x") + (bias ? "" : " no-bias");
    }
};

struct Data {
    Case c;
    std::vector<float> x, w, b, delta;
    Data(const Case& k, uint32_t seed) : c(k) {
        x = random_vector(c.x_size(), seed);
        w = random_vector(c.towers * c.n_out * c.n_in, seed + 1, -0.4f, 0.4f);
        b = random_vector(c.towers * c.n_out, seed + 2, -0.2f, 0.2f);
        delta = random_vector(c.batch * c.towers * c.n_gate(), seed + 3, 0.0f, 2.0f);
    }
    const float* pb() const { return c.bias ? b.data() : nullptr; }
};

struct Fwd {
    std::vector<float> act_out, y;
};

struct Grads {
    std::vector<float> x, w, b, delta;
};

Fwd forward(const Data& d, bool reference) {
    const Case& c = d.c;
    Fwd f{std::vector<float>(c.y_size()), std::vector<float>(c.y_size())};
    const dynrec_status st =
        reference ? dynrec_gated_linear_forward_reference(c.towers, c.batch, c.n_in, c.n_out, c.gate, c.act, c.shared,
                                                          d.x.data(), d.w.data(), d.pb(), d.delta.data(),
                                                          f.act_out.data(), f.y.data())
                  : dynrec_gated_linear_forward(DYNREC_DEVICE_CPU, nullptr, c.towers, c.batch, c.n_in, c.n_out, c.gate,
                                                c.act, c.shared, d.x.data(), d.w.data(), d.pb(), d.delta.data(),
                                                f.act_out.data(), f.y.data(), nullptr, 0);
    EXPECT_EQ(st, DYNREC_OK) << dynrec_last_error();
    return f;
}

Grads backward(const Data& d, bool reference, const std::vector<float>& act_out, const std::vector<float>& gy) {
    const Case& c = d.c;
    Grads g{std::vector<float>(c.x_size()), std::vector<float>(d.w.size()), std::vector<float>(d.b.size()),
            std::vector<float>(d.delta.size())};
    const dynrec_status st =
        reference ? dynrec_gated_linear_backward_reference(c.towers, c.batch, c.n_in, c.n_out, c.gate, c.act, c.shared,
                                                           d.x.data(), d.w.data(), d.delta.data(), act_out.data(),
                                                           gy.data(), g.x.data(), g.w.data(), g.b.data(),
                                                           g.delta.data())
                  : dynrec_gated_linear_backward(DYNREC_DEVICE_CPU, nullptr, c.towers, c.batch, c.n_in, c.n_out,
                                                 c.gate, c.act, c.shared, d.x.data(), d.w.data(), d.delta.data(),
                                                 act_out.data(), gy.data(), g.x.data(), g.w.data(), g.b.data(),
                                                 g.delta.data(), nullptr, 0);
    EXPECT_EQ(st, DYNREC_OK) << dynrec_last_error();
    return g;
}

std::vector<Case> odd_cases() {
    std::vector<Case> cases;
    for (int32_t gate : {DYNREC_GATE_OUTPUT, DYNREC_GATE_INPUT})
        for (int32_t act : kActivations)
            for (int32_t shared : {1, 0})
                for (int64_t b : odd_batches()) {
                    cases.push_back({3, b, 13, 37, gate, act, shared, true});
                    if (b != 1000) cases.push_back({1, b, 67, 13, gate, act, shared, act != DYNREC_ACT_TANH});
                }
    return cases;
}

}  // namespace

TEST(GatedLinear, OptimizedForwardMatchesReferenceOnOddShapes) {
    for (const Case& c : odd_cases()) {
        SCOPED_TRACE(c.name());
        Data d(c, 11);
        const Fwd r = forward(d, true), o = forward(d, false);
        EXPECT_TRUE(all_close(o.act_out, r.act_out, 1e-5f, 1e-4f));
        EXPECT_TRUE(all_close(o.y, r.y, 1e-5f, 1e-4f));
    }
}

TEST(GatedLinear, OptimizedBackwardMatchesReferenceOnOddShapes) {
    for (const Case& c : odd_cases()) {
        SCOPED_TRACE(c.name());
        Data d(c, 21);
        const Fwd f = forward(d, true);
        const auto gy = random_vector(c.y_size(), 5);
        const Grads r = backward(d, true, f.act_out, gy), o = backward(d, false, f.act_out, gy);
        EXPECT_TRUE(all_close(o.x, r.x, 1e-4f, 1e-4f));
        EXPECT_TRUE(all_close(o.w, r.w, 1e-4f, 1e-4f));
        EXPECT_TRUE(all_close(o.b, r.b, 1e-4f, 1e-4f));
        EXPECT_TRUE(all_close(o.delta, r.delta, 1e-4f, 1e-4f));
    }
}

TEST(GatedLinear, BackwardMatchesFiniteDifferences) {
    for (int32_t gate : {DYNREC_GATE_OUTPUT, DYNREC_GATE_INPUT})
        for (int32_t act : kActivations)
            for (int32_t shared : {1, 0}) {
                Case c{2, 5, 7, 6, gate, act, shared, true};
                SCOPED_TRACE(c.name());
                Data d(c, 31);
                const auto probe = random_vector(c.y_size(), 8);
                const Fwd f = forward(d, true);
                const Grads g = backward(d, false, f.act_out, probe);
                auto loss = [&] { return dot(forward(d, true).y, probe); };
                EXPECT_TRUE(matches_finite_difference(g.x, finite_difference(d.x, loss), 2e-3, 2e-2));
                EXPECT_TRUE(matches_finite_difference(g.w, finite_difference(d.w, loss), 2e-3, 2e-2));
                EXPECT_TRUE(matches_finite_difference(g.b, finite_difference(d.b, loss), 2e-3, 2e-2));
                EXPECT_TRUE(matches_finite_difference(g.delta, finite_difference(d.delta, loss), 2e-3, 2e-2));
            }
}

// The tower-batched call equals one single-tower reference call per tower
// (each with its own W_t, b_t, x_t and delta slice): the unfused chain.
TEST(GatedLinear, TowerBatchedCallMatchesOneReferenceCallPerTower) {
    for (int32_t gate : {DYNREC_GATE_OUTPUT, DYNREC_GATE_INPUT})
        for (int32_t shared : {1, 0}) {
            Case c{3, 33, 13, 37, gate, DYNREC_ACT_RELU, shared, true};
            SCOPED_TRACE(c.name());
            Data d(c, 41);
            const Fwd all = forward(d, false);
            const auto gy = random_vector(c.y_size(), 9);
            const Grads g = backward(d, false, all.act_out, gy);
            std::vector<float> gx_sum(c.batch * c.n_in, 0.0f);
            for (int64_t t = 0; t < c.towers; ++t) {
                Case one = c;
                one.towers = 1;
                one.shared = 1;
                Data dt(one, 1);
                const float* xt = d.x.data() + (shared ? 0 : t * c.batch * c.n_in);
                dt.x.assign(xt, xt + c.batch * c.n_in);
                dt.w.assign(d.w.begin() + t * c.n_out * c.n_in, d.w.begin() + (t + 1) * c.n_out * c.n_in);
                dt.b.assign(d.b.begin() + t * c.n_out, d.b.begin() + (t + 1) * c.n_out);
                const int64_t ng = c.n_gate();
                for (int64_t i = 0; i < c.batch; ++i)
                    for (int64_t j = 0; j < ng; ++j) dt.delta[i * ng + j] = d.delta[i * c.towers * ng + t * ng + j];
                const Fwd ft = forward(dt, true);
                const std::vector<float> yt(all.y.begin() + t * c.batch * c.n_out,
                                            all.y.begin() + (t + 1) * c.batch * c.n_out);
                EXPECT_TRUE(all_close(yt, ft.y, 1e-5f, 1e-4f));
                const std::vector<float> gyt(gy.begin() + t * c.batch * c.n_out, gy.begin() + (t + 1) * c.batch * c.n_out);
                const Grads gt = backward(dt, true, ft.act_out, gyt);
                const std::vector<float> gw(g.w.begin() + t * c.n_out * c.n_in, g.w.begin() + (t + 1) * c.n_out * c.n_in);
                EXPECT_TRUE(all_close(gw, gt.w, 1e-4f, 1e-4f));
                for (int64_t i = 0; i < c.batch; ++i)
                    for (int64_t j = 0; j < ng; ++j)
                        EXPECT_NEAR(g.delta[i * c.towers * ng + t * ng + j], gt.delta[i * ng + j], 1e-4);
                if (shared) {
                    for (size_t k = 0; k < gx_sum.size(); ++k) gx_sum[k] += gt.x[k];
                } else {
                    const std::vector<float> gxt(g.x.begin() + t * c.batch * c.n_in, g.x.begin() + (t + 1) * c.batch * c.n_in);
                    EXPECT_TRUE(all_close(gxt, gt.x, 1e-4f, 1e-4f));
                }
            }
            if (shared) {
                EXPECT_TRUE(all_close(g.x, gx_sum, 1e-4f, 1e-4f));
            }
        }
}

TEST(GatedLinear, ForwardWithoutActOutAndInputGateBackwardFromY) {
    for (int32_t gate : {DYNREC_GATE_OUTPUT, DYNREC_GATE_INPUT}) {
        Case c{2, 7, 13, 5, gate, DYNREC_ACT_SIGMOID, 0, true};
        Data d(c, 51);
        const Fwd f = forward(d, false);
        std::vector<float> y(c.y_size());
        ASSERT_EQ(dynrec_gated_linear_forward(DYNREC_DEVICE_CPU, nullptr, 2, 7, 13, 5, gate, c.act, 0, d.x.data(),
                                              d.w.data(), d.b.data(), d.delta.data(), nullptr, y.data(), nullptr, 0),
                  DYNREC_OK);
        EXPECT_TRUE(all_close(y, f.y, 0.0f, 0.0f));
        if (gate == DYNREC_GATE_INPUT) {
            EXPECT_TRUE(all_close(f.act_out, f.y, 0.0f, 0.0f));
            const auto gy = random_vector(c.y_size(), 3);
            const Grads a = backward(d, false, f.act_out, gy), b = backward(d, false, f.y, gy);
            EXPECT_TRUE(all_close(a.x, b.x, 0.0f, 0.0f));
            EXPECT_TRUE(all_close(a.delta, b.delta, 0.0f, 0.0f));
        }
    }
}

TEST(GatedLinear, NullGradientOutputsAreSkipped) {
    for (int32_t gate : {DYNREC_GATE_OUTPUT, DYNREC_GATE_INPUT})
        for (int32_t shared : {1, 0}) {
            Case c{3, 33, 13, 7, gate, DYNREC_ACT_TANH, shared, true};
            Data d(c, 61);
            const Fwd f = forward(d, false);
            const auto gy = random_vector(c.y_size(), 4);
            const Grads full = backward(d, false, f.act_out, gy);
            for (int which = 0; which < 4; ++which) {
                Grads g{std::vector<float>(full.x.size(), -7.f), std::vector<float>(full.w.size(), -7.f),
                        std::vector<float>(full.b.size(), -7.f), std::vector<float>(full.delta.size(), -7.f)};
                float* ptrs[4] = {g.x.data(), g.w.data(), g.b.data(), g.delta.data()};
                for (int k = 0; k < 4; ++k)
                    if (k != which) ptrs[k] = nullptr;
                ASSERT_EQ(dynrec_gated_linear_backward(DYNREC_DEVICE_CPU, nullptr, 3, 33, 13, 7, gate, c.act, shared,
                                                       d.x.data(), d.w.data(), d.delta.data(), f.act_out.data(),
                                                       gy.data(), ptrs[0], ptrs[1], ptrs[2], ptrs[3], nullptr, 0),
                          DYNREC_OK)
                    << dynrec_last_error();
                const std::vector<float>* got[4] = {&g.x, &g.w, &g.b, &g.delta};
                const std::vector<float>* want[4] = {&full.x, &full.w, &full.b, &full.delta};
                for (int k = 0; k < 4; ++k) {
                    if (k == which)
                        EXPECT_TRUE(all_close(*got[k], *want[k], 0.0f, 0.0f)) << "output " << k;
                    else
                        EXPECT_TRUE(all_close(*got[k], std::vector<float>(got[k]->size(), -7.f), 0.0f, 0.0f))
                            << "output " << k << " was written";
                }
            }
        }
}

TEST(GatedLinear, ValidationNamesTheOffendingArgument) {
    Case c{2, 4, 3, 5, DYNREC_GATE_OUTPUT, DYNREC_ACT_RELU, 0, true};
    Data d(c, 71);
    std::vector<float> y(c.y_size()), ao(c.y_size());
    const float *x = d.x.data(), *w = d.w.data(), *dl = d.delta.data();
    auto fwd = [&](int32_t dev, int64_t T, int64_t B, int64_t ni, int64_t no, int32_t gate, int32_t act,
                   int32_t shared, const float* xx, const float* ww, const float* dd, float* yy) {
        return dynrec_gated_linear_forward(dev, nullptr, T, B, ni, no, gate, act, shared, xx, ww, nullptr, dd,
                                           ao.data(), yy, nullptr, 0);
    };
    EXPECT_TRUE(rejected_naming(fwd(0, 2, 4, 3, 5, 0, 1, 0, nullptr, w, dl, y.data()), "x"));
    EXPECT_TRUE(rejected_naming(fwd(0, 2, 4, 3, 5, 0, 1, 0, x, nullptr, dl, y.data()), "w"));
    EXPECT_TRUE(rejected_naming(fwd(0, 2, 4, 3, 5, 0, 1, 0, x, w, nullptr, y.data()), "delta"));
    EXPECT_TRUE(rejected_naming(fwd(0, 2, 4, 3, 5, 0, 1, 0, x, w, dl, nullptr), "y"));
    EXPECT_TRUE(rejected_naming(fwd(0, 0, 4, 3, 5, 0, 1, 0, x, w, dl, y.data()), "towers"));
    EXPECT_TRUE(rejected_naming(fwd(0, 2, -4, 3, 5, 0, 1, 0, x, w, dl, y.data()), "batch"));
    EXPECT_TRUE(rejected_naming(fwd(0, 2, 4, 0, 5, 0, 1, 0, x, w, dl, y.data()), "n_in"));
    EXPECT_TRUE(rejected_naming(fwd(0, 2, 4, 3, -5, 0, 1, 0, x, w, dl, y.data()), "n_out"));
    EXPECT_TRUE(rejected_naming(fwd(0, 2, 4, 3, 5, 2, 1, 0, x, w, dl, y.data()), "gate_position"));
    EXPECT_TRUE(rejected_naming(fwd(0, 2, 4, 3, 5, 0, 9, 0, x, w, dl, y.data()), "activation"));
    EXPECT_TRUE(rejected_naming(fwd(0, 2, 4, 3, 5, 0, -1, 0, x, w, dl, y.data()), "activation"));
    EXPECT_TRUE(rejected_naming(fwd(0, 2, 4, 3, 5, 0, 1, 2, x, w, dl, y.data()), "x_shared"));
    EXPECT_TRUE(rejected_naming(fwd(0, 1 << 20, 1 << 20, 1 << 10, 5, 0, 1, 0, x, w, dl, y.data()), "x"));
    EXPECT_TRUE(rejected_naming(fwd(0, 1 << 20, 4, 1 << 20, 1 << 10, 0, 1, 1, x, w, dl, y.data()), "w"));
    EXPECT_TRUE(rejected_naming(fwd(0, 2, int64_t(1) << 35, 3, 1 << 10, 0, 1, 1, x, w, dl, y.data()), "y"));
    ASSERT_EQ(fwd(0, 2, 4, 3, 5, 0, 1, 0, x, w, dl, y.data()), DYNREC_OK);
    EXPECT_TRUE(rejected_naming(fwd(3, 2, 4, 3, 5, 0, 1, 0, x, w, dl, y.data()), "device"));
    int32_t gpus = 0;
    ASSERT_EQ(dynrec_cuda_device_count(&gpus), DYNREC_OK);
    if (gpus == 0) {
        EXPECT_TRUE(rejected_naming(fwd(DYNREC_DEVICE_CUDA, 2, 4, 3, 5, 0, 1, 0, x, w, dl, y.data()), "device"));
    }
    EXPECT_TRUE(rejected_naming(dynrec_gated_linear_forward(0, nullptr, 2, 4, 3, 5, 0, 1, 0, x, w, nullptr, dl,
                                                            ao.data(), y.data(), nullptr, -1),
                                "workspace_bytes"));

    const auto gy = random_vector(c.y_size(), 1);
    std::vector<float> gx(c.x_size());
    auto bwd = [&](const float* xx, const float* ww, const float* dd, const float* a, const float* g, int64_t ws) {
        return dynrec_gated_linear_backward(0, nullptr, 2, 4, 3, 5, 0, 1, 0, xx, ww, dd, a, g, gx.data(), nullptr,
                                            nullptr, nullptr, nullptr, ws);
    };
    EXPECT_TRUE(rejected_naming(bwd(nullptr, w, dl, ao.data(), gy.data(), 0), "x"));
    EXPECT_TRUE(rejected_naming(bwd(x, nullptr, dl, ao.data(), gy.data(), 0), "w"));
    EXPECT_TRUE(rejected_naming(bwd(x, w, nullptr, ao.data(), gy.data(), 0), "delta"));
    EXPECT_TRUE(rejected_naming(bwd(x, w, dl, nullptr, gy.data(), 0), "act_out"));
    EXPECT_TRUE(rejected_naming(bwd(x, w, dl, ao.data(), nullptr, 0), "grad_y"));
    EXPECT_TRUE(rejected_naming(bwd(x, w, dl, ao.data(), gy.data(), -1), "workspace_bytes"));
    EXPECT_TRUE(rejected_naming(dynrec_gated_linear_backward(0, nullptr, 2, 4, 3, 5, 0, 7, 0, x, w, dl, ao.data(),
                                                             gy.data(), nullptr, nullptr, nullptr, nullptr, nullptr, 0),
                                "activation"));
    EXPECT_TRUE(rejected_naming(dynrec_gated_linear_forward_reference(2, 4, 3, 5, 0, 1, 0, x, w, nullptr, nullptr,
                                                                      nullptr, y.data()),
                                "delta"));
    EXPECT_TRUE(rejected_naming(dynrec_gated_linear_backward_reference(2, 4, 3, 5, 0, 1, 0, x, w, dl, ao.data(),
                                                                       nullptr, nullptr, nullptr, nullptr, nullptr),
                                "grad_y"));
    int64_t bytes = -1;
    EXPECT_TRUE(rejected_naming(dynrec_gated_linear_workspace_size(0, 2, 4, 3, 5, 0, 0, nullptr), "bytes"));
    EXPECT_TRUE(rejected_naming(dynrec_gated_linear_workspace_size(0, 2, 4, 3, 5, 5, 0, &bytes), "gate_position"));
    ASSERT_EQ(dynrec_gated_linear_workspace_size(0, 2, 4, 3, 5, 1, 0, &bytes), DYNREC_OK);
    EXPECT_EQ(bytes, 0);
}

TEST(GatedLinear, ConcurrentCallsGiveIdenticalResults) {
    Case c{3, 257, 67, 37, DYNREC_GATE_INPUT, DYNREC_ACT_RELU, 1, true};
    Data d(c, 81);
    const Fwd f0 = forward(d, false);
    const auto gy = random_vector(c.y_size(), 2);
    const Grads g0 = backward(d, false, f0.act_out, gy);
    std::vector<Fwd> fs(4);
    std::vector<Grads> gs(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int rep = 0; rep < 3; ++rep) {
                fs[t] = forward(d, false);
                gs[t] = backward(d, false, fs[t].act_out, gy);
            }
        });
    for (auto& th : threads) th.join();
    for (int t = 0; t < 4; ++t) {
        EXPECT_TRUE(all_close(fs[t].y, f0.y, 0.0f, 0.0f));
        EXPECT_TRUE(all_close(gs[t].x, g0.x, 0.0f, 0.0f));
        EXPECT_TRUE(all_close(gs[t].w, g0.w, 0.0f, 0.0f));
        EXPECT_TRUE(all_close(gs[t].b, g0.b, 0.0f, 0.0f));
        EXPECT_TRUE(all_close(gs[t].delta, g0.delta, 0.0f, 0.0f));
    }
}
