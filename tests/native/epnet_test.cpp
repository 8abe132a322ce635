// epnet: optimized vs reference (forward, backward) on odd shapes; both vs
// the unfused chain (explicit concat -> gate_nu reference -> * E);
// backward vs finite differences (gate parameters, domain) and the
// stop-gradient rule for E; NULL outputs skipped; validation; thread safety.
#include <cmath>
#include <string>
#include <thread>

#include "dynrec/dynrec.h"
#include "test_util.h"

using namespace dynrec_test;

namespace {

struct Case {
    int64_t batch, n_domain, n_emb, n_hidden;
    float gamma;
    bool bias;
    std::string name() const {
        return "B" + std::to_string(batch) + " domain " + std::to_string(n_domain) + " emb " + std::to_string(n_emb) +
               " hidden " + std::to_string(n_hidden) + (bias ? "" : " no-bias");
    }
};

struct Data {
    Case c;
    std::vector<float> domain, emb, w1, b1, w2, b2;
    Data(const Case& k, uint32_t seed) : c(k) {
        domain = random_vector(c.batch * c.n_domain, seed);
        emb = random_vector(c.batch * c.n_emb, seed + 1);
        w1 = random_vector(c.n_hidden * (c.n_domain + c.n_emb), seed + 2, -0.4f, 0.4f);
        b1 = random_vector(c.n_hidden, seed + 3, -0.2f, 0.2f);
        w2 = random_vector(c.n_emb * c.n_hidden, seed + 4, -0.4f, 0.4f);
        b2 = random_vector(c.n_emb, seed + 5, -0.2f, 0.2f);
    }
    const float* pb1() const { return c.bias ? b1.data() : nullptr; }
    const float* pb2() const { return c.bias ? b2.data() : nullptr; }
};

struct Fwd {
    std::vector<float> hidden, delta, out;
};

struct Grads {
    std::vector<float> domain, emb, w1, b1, w2, b2;
};

Fwd forward(const Data& d, bool reference) {
    const Case& c = d.c;
    Fwd f{std::vector<float>(c.batch * c.n_hidden), std::vector<float>(c.batch * c.n_emb),
          std::vector<float>(c.batch * c.n_emb)};
    const dynrec_status st =
        reference ? dynrec_epnet_forward_reference(c.batch, c.n_domain, c.n_emb, c.n_hidden, d.domain.data(),
                                                   d.emb.data(), d.w1.data(), d.pb1(), d.w2.data(), d.pb2(), c.gamma,
                                                   f.hidden.data(), f.delta.data(), f.out.data())
                  : dynrec_epnet_forward(DYNREC_DEVICE_CPU, nullptr, c.batch, c.n_domain, c.n_emb, c.n_hidden,
                                         d.domain.data(), d.emb.data(), d.w1.data(), d.pb1(), d.w2.data(), d.pb2(),
                                         c.gamma, f.hidden.data(), f.delta.data(), f.out.data());
    EXPECT_EQ(st, DYNREC_OK) << dynrec_last_error();
    return f;
}

Grads backward(const Data& d, bool reference, const Fwd& f, const std::vector<float>& go) {
    const Case& c = d.c;
    Grads g{std::vector<float>(d.domain.size()), std::vector<float>(d.emb.size()), std::vector<float>(d.w1.size()),
            std::vector<float>(d.b1.size()), std::vector<float>(d.w2.size()), std::vector<float>(d.b2.size())};
    const dynrec_status st =
        reference ? dynrec_epnet_backward_reference(c.batch, c.n_domain, c.n_emb, c.n_hidden, d.domain.data(),
                                                    d.emb.data(), d.w1.data(), d.w2.data(), c.gamma, f.hidden.data(),
                                                    f.delta.data(), go.data(), g.domain.data(), g.emb.data(),
                                                    g.w1.data(), g.b1.data(), g.w2.data(), g.b2.data())
                  : dynrec_epnet_backward(DYNREC_DEVICE_CPU, nullptr, c.batch, c.n_domain, c.n_emb, c.n_hidden,
                                          d.domain.data(), d.emb.data(), d.w1.data(), d.w2.data(), c.gamma,
                                          f.hidden.data(), f.delta.data(), go.data(), g.domain.data(), g.emb.data(),
                                          g.w1.data(), g.b1.data(), g.w2.data(), g.b2.data(), nullptr, 0);
    EXPECT_EQ(st, DYNREC_OK) << dynrec_last_error();
    return g;
}

void expect_grads_close(const Grads& a, const Grads& b, float atol, float rtol) {
    EXPECT_TRUE(all_close(a.domain, b.domain, atol, rtol)) << "grad_domain";
    EXPECT_TRUE(all_close(a.emb, b.emb, atol, rtol)) << "grad_emb";
    EXPECT_TRUE(all_close(a.w1, b.w1, atol, rtol)) << "grad_w1";
    EXPECT_TRUE(all_close(a.b1, b.b1, atol, rtol)) << "grad_b1";
    EXPECT_TRUE(all_close(a.w2, b.w2, atol, rtol)) << "grad_w2";
    EXPECT_TRUE(all_close(a.b2, b.b2, atol, rtol)) << "grad_b2";
}

std::vector<Case> odd_cases() {
    std::vector<Case> cases;
    for (int64_t b : odd_batches()) {
        cases.push_back({b, 13, 37, 17, 2.0f, true});
        cases.push_back({b, 5, 8, 8, 1.5f, false});
        if (b != 1000) cases.push_back({b, 67, 13, 29, 2.0f, true});
    }
    cases.push_back({33, 1, 1, 1, 2.0f, true});
    return cases;
}

}  // namespace

TEST(Epnet, OptimizedForwardMatchesReferenceOnOddShapes) {
    for (const Case& c : odd_cases()) {
        SCOPED_TRACE(c.name());
        Data d(c, 3);
        const Fwd r = forward(d, true), o = forward(d, false);
        EXPECT_TRUE(all_close(o.hidden, r.hidden, 1e-5f, 1e-4f));
        EXPECT_TRUE(all_close(o.delta, r.delta, 1e-5f, 1e-4f));
        EXPECT_TRUE(all_close(o.out, r.out, 1e-5f, 1e-4f));
    }
}

TEST(Epnet, OptimizedBackwardMatchesReferenceOnOddShapes) {
    for (const Case& c : odd_cases()) {
        SCOPED_TRACE(c.name());
        Data d(c, 13);
        const Fwd f = forward(d, true);
        const auto go = random_vector(c.batch * c.n_emb, 6);
        expect_grads_close(backward(d, false, f, go), backward(d, true, f, go), 1e-4f, 1e-4f);
    }
}

// The fused op equals the unfused chain of reference ops: concat(domain, E)
// materialized, gate_nu reference, out = delta * E; backward through
// gate_nu's reference with grad_delta = grad_out * E (E's gate path dropped).
TEST(Epnet, MatchesUnfusedChainOfReferenceOps) {
    for (const Case& c : {Case{33, 13, 37, 17, 2.0f, true}, Case{7, 5, 8, 8, 1.5f, false}}) {
        SCOPED_TRACE(c.name());
        Data d(c, 23);
        const int64_t B = c.batch, nd = c.n_domain, ne = c.n_emb, nh = c.n_hidden, nin = nd + ne;
        std::vector<float> concat(B * nin);
        for (int64_t i = 0; i < B; ++i) {
            for (int64_t p = 0; p < nd; ++p) concat[i * nin + p] = d.domain[i * nd + p];
            for (int64_t p = 0; p < ne; ++p) concat[i * nin + nd + p] = d.emb[i * ne + p];
        }
        std::vector<float> hidden(B * nh), delta(B * ne), out(B * ne);
        ASSERT_EQ(dynrec_gate_nu_forward_reference(B, nin, nh, ne, concat.data(), d.w1.data(), d.pb1(), d.w2.data(),
                                                   d.pb2(), c.gamma, hidden.data(), delta.data()),
                  DYNREC_OK);
        for (int64_t k = 0; k < B * ne; ++k) out[k] = delta[k] * d.emb[k];
        const Fwd o = forward(d, false);
        EXPECT_TRUE(all_close(o.out, out, 1e-5f, 1e-4f));
        EXPECT_TRUE(all_close(o.delta, delta, 1e-5f, 1e-4f));

        const auto go = random_vector(B * ne, 7);
        std::vector<float> gdelta(B * ne), gconcat(B * nin), gw1(d.w1.size()), gb1(nh), gw2(d.w2.size()), gb2(ne);
        for (int64_t k = 0; k < B * ne; ++k) gdelta[k] = go[k] * d.emb[k];
        ASSERT_EQ(dynrec_gate_nu_backward_reference(B, nin, nh, ne, concat.data(), d.w1.data(), d.w2.data(), c.gamma,
                                                    hidden.data(), delta.data(), gdelta.data(), nin, gconcat.data(),
                                                    gw1.data(), gb1.data(), gw2.data(), gb2.data()),
                  DYNREC_OK);
        Grads chain{std::vector<float>(B * nd), std::vector<float>(B * ne), gw1, gb1, gw2, gb2};
        for (int64_t i = 0; i < B; ++i)
            for (int64_t p = 0; p < nd; ++p) chain.domain[i * nd + p] = gconcat[i * nin + p];
        for (int64_t k = 0; k < B * ne; ++k) chain.emb[k] = delta[k] * go[k];
        expect_grads_close(backward(d, false, o, go), chain, 1e-4f, 1e-4f);
    }
}

TEST(Epnet, BackwardMatchesFiniteDifferencesAndStopsGradientIntoTheGate) {
    Case c{6, 4, 5, 7, 2.0f, true};
    Data d(c, 33);
    const auto probe = random_vector(c.batch * c.n_emb, 9);
    const Fwd f = forward(d, true);
    const Grads g = backward(d, false, f, probe);
    auto loss = [&] { return dot(forward(d, true).out, probe); };
    EXPECT_TRUE(matches_finite_difference(g.domain, finite_difference(d.domain, loss), 2e-3, 2e-2));
    EXPECT_TRUE(matches_finite_difference(g.w1, finite_difference(d.w1, loss), 2e-3, 2e-2));
    EXPECT_TRUE(matches_finite_difference(g.b1, finite_difference(d.b1, loss), 2e-3, 2e-2));
    EXPECT_TRUE(matches_finite_difference(g.w2, finite_difference(d.w2, loss), 2e-3, 2e-2));
    EXPECT_TRUE(matches_finite_difference(g.b2, finite_difference(d.b2, loss), 2e-3, 2e-2));
    // sg(E): E's gradient is the direct path only, delta * grad_out.
    for (size_t k = 0; k < g.emb.size(); ++k) EXPECT_FLOAT_EQ(g.emb[k], f.delta[k] * probe[k]);
}

TEST(Epnet, ForwardWithoutHiddenOrDeltaGivesSameOutput) {
    Data d({7, 13, 37, 17, 2.0f, true}, 43);
    const Fwd f = forward(d, false);
    std::vector<float> out(f.out.size());
    ASSERT_EQ(dynrec_epnet_forward(DYNREC_DEVICE_CPU, nullptr, 7, 13, 37, 17, d.domain.data(), d.emb.data(),
                                   d.w1.data(), d.b1.data(), d.w2.data(), d.b2.data(), 2.0f, nullptr, nullptr,
                                   out.data()),
              DYNREC_OK);
    EXPECT_TRUE(all_close(out, f.out, 0.0f, 0.0f));
}

TEST(Epnet, NullGradientOutputsAreSkipped) {
    Case c{33, 13, 37, 17, 2.0f, true};
    Data d(c, 53);
    const Fwd f = forward(d, false);
    const auto go = random_vector(c.batch * c.n_emb, 2);
    const Grads full = backward(d, false, f, go);
    const std::vector<float>* want[6] = {&full.domain, &full.emb, &full.w1, &full.b1, &full.w2, &full.b2};
    for (int which = 0; which < 6; ++which) {
        std::vector<std::vector<float>> got;
        float* ptr[6];
        for (int k = 0; k < 6; ++k) {
            got.emplace_back(want[k]->size(), -7.0f);
            ptr[k] = k == which ? got[k].data() : nullptr;
        }
        ASSERT_EQ(dynrec_epnet_backward(DYNREC_DEVICE_CPU, nullptr, 33, 13, 37, 17, d.domain.data(), d.emb.data(),
                                        d.w1.data(), d.w2.data(), 2.0f, f.hidden.data(), f.delta.data(), go.data(),
                                        ptr[0], ptr[1], ptr[2], ptr[3], ptr[4], ptr[5], nullptr, 0),
                  DYNREC_OK)
            << dynrec_last_error();
        EXPECT_TRUE(all_close(got[which], *want[which], 0.0f, 0.0f)) << "output " << which;
    }
}

TEST(Epnet, ValidationNamesTheOffendingArgument) {
    Data d({4, 3, 2, 5, 2.0f, true}, 63);
    std::vector<float> h(20), del(8), out(8);
    const float *dm = d.domain.data(), *e = d.emb.data(), *w1 = d.w1.data(), *w2 = d.w2.data();
    auto fwd = [&](int32_t dev, int64_t B, int64_t nd, int64_t ne, int64_t nh, const float* a, const float* b,
                   const float* x1, const float* x2, float gamma, float* o) {
        return dynrec_epnet_forward(dev, nullptr, B, nd, ne, nh, a, b, x1, nullptr, x2, nullptr, gamma, h.data(),
                                    del.data(), o);
    };
    ASSERT_EQ(fwd(0, 4, 3, 2, 5, dm, e, w1, w2, 2.f, out.data()), DYNREC_OK);
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 5, nullptr, e, w1, w2, 2.f, out.data()), "domain"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 5, dm, nullptr, w1, w2, 2.f, out.data()), "emb"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 5, dm, e, nullptr, w2, 2.f, out.data()), "w1"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 5, dm, e, w1, nullptr, 2.f, out.data()), "w2"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 5, dm, e, w1, w2, 2.f, nullptr), "out"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 5, dm, e, w1, w2, INFINITY, out.data()), "gamma"));
    EXPECT_TRUE(rejected_naming(fwd(0, -1, 3, 2, 5, dm, e, w1, w2, 2.f, out.data()), "batch"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 0, 2, 5, dm, e, w1, w2, 2.f, out.data()), "n_domain"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, -2, 5, dm, e, w1, w2, 2.f, out.data()), "n_emb"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 0, dm, e, w1, w2, 2.f, out.data()), "n_hidden"));
    EXPECT_TRUE(rejected_naming(fwd(0, int64_t(1) << 30, int64_t(1) << 30, 2, 5, dm, e, w1, w2, 2.f, out.data()),
                                "domain"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, int64_t(1) << 41, dm, e, w1, w2, 2.f, out.data()), "n_hidden"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 1 << 20, 1 << 21, dm, e, w1, w2, 2.f, out.data()), "w1"));
    EXPECT_TRUE(rejected_naming(fwd(2, 4, 3, 2, 5, dm, e, w1, w2, 2.f, out.data()), "device"));
    int32_t gpus = 0;
    ASSERT_EQ(dynrec_cuda_device_count(&gpus), DYNREC_OK);
    if (gpus == 0) {
        EXPECT_TRUE(rejected_naming(fwd(DYNREC_DEVICE_CUDA, 4, 3, 2, 5, dm, e, w1, w2, 2.f, out.data()), "device"));
    }
    const auto go = random_vector(8, 1);
    auto bwd = [&](const float* hh, const float* dd, const float* g, int64_t ws) {
        return dynrec_epnet_backward(0, nullptr, 4, 3, 2, 5, dm, e, w1, w2, 2.f, hh, dd, g, nullptr, nullptr, nullptr,
                                     nullptr, nullptr, nullptr, nullptr, ws);
    };
    EXPECT_TRUE(rejected_naming(bwd(nullptr, del.data(), go.data(), 0), "hidden"));
    EXPECT_TRUE(rejected_naming(bwd(h.data(), nullptr, go.data(), 0), "delta"));
    EXPECT_TRUE(rejected_naming(bwd(h.data(), del.data(), nullptr, 0), "grad_out"));
    EXPECT_TRUE(rejected_naming(bwd(h.data(), del.data(), go.data(), -8), "workspace_bytes"));
    EXPECT_TRUE(rejected_naming(dynrec_epnet_forward_reference(4, 3, 2, 5, dm, e, w1, nullptr, w2, nullptr, NAN,
                                                               nullptr, nullptr, out.data()),
                                "gamma"));
    EXPECT_TRUE(rejected_naming(dynrec_epnet_backward_reference(4, 3, 2, 5, dm, nullptr, w1, w2, 2.f, h.data(),
                                                                del.data(), go.data(), nullptr, nullptr, nullptr,
                                                                nullptr, nullptr, nullptr),
                                "emb"));
    int64_t bytes = -1;
    EXPECT_TRUE(rejected_naming(dynrec_epnet_workspace_size(0, 4, 3, 2, 5, nullptr), "bytes"));
    ASSERT_EQ(dynrec_epnet_workspace_size(0, 4, 3, 2, 5, &bytes), DYNREC_OK);
    EXPECT_EQ(bytes, 0);
}

TEST(Epnet, ConcurrentCallsGiveIdenticalResults) {
    Data d({257, 67, 40, 40, 2.0f, true}, 73);
    const Fwd f0 = forward(d, false);
    const auto go = random_vector(257 * 40, 4);
    const Grads g0 = backward(d, false, f0, go);
    std::vector<Fwd> fs(4);
    std::vector<Grads> gs(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int rep = 0; rep < 3; ++rep) {
                fs[t] = forward(d, false);
                gs[t] = backward(d, false, fs[t], go);
            }
        });
    for (auto& th : threads) th.join();
    for (int t = 0; t < 4; ++t) {
        EXPECT_TRUE(all_close(fs[t].out, f0.out, 0.0f, 0.0f));
        expect_grads_close(gs[t], g0, 0.0f, 0.0f);
    }
}
