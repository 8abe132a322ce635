// gate_nu: optimized vs reference (forward, backward) on odd shapes, backward
// vs finite differences, every validation path, thread safety, CUDA skip.
#include <cmath>
#include <cstring>
#include <thread>

#include "dynrec/dynrec.h"
#include "test_util.h"

using namespace dynrec_test;

namespace {

struct GateNuCase {
    int64_t batch, n_in, n_hidden, n_out;
    float gamma;
    bool biases;
};

struct GateNuData {
    GateNuCase c;
    std::vector<float> x, w1, b1, w2, b2;
    explicit GateNuData(const GateNuCase& k, uint32_t seed = 1) : c(k) {
        x = random_vector(c.batch * c.n_in, seed);
        w1 = random_vector(c.n_hidden * c.n_in, seed + 1, -0.5f, 0.5f);
        b1 = random_vector(c.n_hidden, seed + 2, -0.2f, 0.2f);
        w2 = random_vector(c.n_out * c.n_hidden, seed + 3, -0.5f, 0.5f);
        b2 = random_vector(c.n_out, seed + 4, -0.2f, 0.2f);
    }
    const float* pb1() const { return c.biases ? b1.data() : nullptr; }
    const float* pb2() const { return c.biases ? b2.data() : nullptr; }
};

struct Grads {
    std::vector<float> x, w1, b1, w2, b2;
};

void forward(const GateNuData& d, bool reference, std::vector<float>& hidden, std::vector<float>& delta) {
    const auto& c = d.c;
    hidden.assign(c.batch * c.n_hidden, 0.0f);
    delta.assign(c.batch * c.n_out, 0.0f);
    const dynrec_status st =
        reference ? dynrec_gate_nu_forward_reference(c.batch, c.n_in, c.n_hidden, c.n_out, d.x.data(), d.w1.data(),
                                                     d.pb1(), d.w2.data(), d.pb2(), c.gamma, hidden.data(), delta.data())
                  : dynrec_gate_nu_forward(DYNREC_DEVICE_CPU, nullptr, c.batch, c.n_in, c.n_hidden, c.n_out, d.x.data(),
                                           d.w1.data(), d.pb1(), d.w2.data(), d.pb2(), c.gamma, hidden.data(),
                                           delta.data());
    ASSERT_EQ(st, DYNREC_OK) << dynrec_last_error();
}

// n_in_grad < 0: the whole input gradient (n_in columns).
Grads backward(const GateNuData& d, bool reference, const std::vector<float>& hidden,
               const std::vector<float>& delta, const std::vector<float>& grad_delta, int64_t n_in_grad = -1) {
    const auto& c = d.c;
    if (n_in_grad < 0) n_in_grad = c.n_in;
    Grads g{std::vector<float>(c.batch * n_in_grad), std::vector<float>(c.n_hidden * c.n_in),
            std::vector<float>(c.n_hidden), std::vector<float>(c.n_out * c.n_hidden), std::vector<float>(c.n_out)};
    const dynrec_status st =
        reference ? dynrec_gate_nu_backward_reference(c.batch, c.n_in, c.n_hidden, c.n_out, d.x.data(), d.w1.data(),
                                                      d.w2.data(), c.gamma, hidden.data(), delta.data(),
                                                      grad_delta.data(), n_in_grad, g.x.data(), g.w1.data(),
                                                      g.b1.data(), g.w2.data(), g.b2.data())
                  : dynrec_gate_nu_backward(DYNREC_DEVICE_CPU, nullptr, c.batch, c.n_in, c.n_hidden, c.n_out,
                                            d.x.data(), d.w1.data(), d.w2.data(), c.gamma, hidden.data(), delta.data(),
                                            grad_delta.data(), n_in_grad, g.x.data(), g.w1.data(), g.b1.data(),
                                            g.w2.data(), g.b2.data(), nullptr, 0);
    EXPECT_EQ(st, DYNREC_OK) << dynrec_last_error();
    return g;
}

std::vector<GateNuCase> odd_cases() {
    std::vector<GateNuCase> cases;
    for (int64_t b : odd_batches()) {
        cases.push_back({b, 13, 17, 5, 2.0f, true});
        cases.push_back({b, 37, 9, 19, 1.5f, false});
    }
    cases.push_back({33, 1, 1, 1, 2.0f, true});
    cases.push_back({65, 131, 67, 33, 2.0f, true});
    return cases;
}

}  // namespace

TEST(GateNu, OptimizedForwardMatchesReferenceOnOddShapes) {
    for (const auto& c : odd_cases()) {
        SCOPED_TRACE("batch " + std::to_string(c.batch) + " n_in " + std::to_string(c.n_in));
        GateNuData d(c);
        std::vector<float> h_ref, d_ref, h_opt, d_opt;
        forward(d, true, h_ref, d_ref);
        forward(d, false, h_opt, d_opt);
        EXPECT_TRUE(all_close(h_opt, h_ref, 1e-5f, 1e-4f));
        EXPECT_TRUE(all_close(d_opt, d_ref, 1e-5f, 1e-4f));
    }
}

TEST(GateNu, ForwardWithoutHiddenBufferGivesSameDelta) {
    GateNuData d({7, 13, 17, 5, 2.0f, true});
    std::vector<float> h, with_hidden, without(7 * 5);
    forward(d, false, h, with_hidden);
    ASSERT_EQ(dynrec_gate_nu_forward(DYNREC_DEVICE_CPU, nullptr, 7, 13, 17, 5, d.x.data(), d.w1.data(), d.b1.data(),
                                     d.w2.data(), d.b2.data(), 2.0f, nullptr, without.data()),
              DYNREC_OK);
    EXPECT_TRUE(all_close(without, with_hidden, 0.0f, 0.0f));
}

TEST(GateNu, OptimizedBackwardMatchesReferenceOnOddShapes) {
    for (const auto& c : odd_cases()) {
        SCOPED_TRACE("batch " + std::to_string(c.batch) + " n_in " + std::to_string(c.n_in));
        GateNuData d(c);
        std::vector<float> h, del;
        forward(d, true, h, del);
        const auto gd = random_vector(c.batch * c.n_out, 99);
        Grads r = backward(d, true, h, del, gd), o = backward(d, false, h, del, gd);
        EXPECT_TRUE(all_close(o.x, r.x, 1e-5f, 1e-4f));
        EXPECT_TRUE(all_close(o.w1, r.w1, 1e-4f, 1e-4f));
        EXPECT_TRUE(all_close(o.b1, r.b1, 1e-4f, 1e-4f));
        EXPECT_TRUE(all_close(o.w2, r.w2, 1e-4f, 1e-4f));
        EXPECT_TRUE(all_close(o.b2, r.b2, 1e-4f, 1e-4f));
    }
}

TEST(GateNu, BackwardMatchesFiniteDifferences) {
    GateNuData d({7, 11, 9, 5, 2.0f, true}, 5);
    std::vector<float> h, del;
    forward(d, true, h, del);
    const auto probe = random_vector(7 * 5, 77);
    Grads g = backward(d, true, h, del, probe);
    auto loss = [&] {
        std::vector<float> hh, dd;
        forward(d, true, hh, dd);
        return dot(dd, probe);
    };
    EXPECT_TRUE(matches_finite_difference(g.x, finite_difference(d.x, loss), 2e-3, 2e-2));
    EXPECT_TRUE(matches_finite_difference(g.w1, finite_difference(d.w1, loss), 2e-3, 2e-2));
    EXPECT_TRUE(matches_finite_difference(g.b1, finite_difference(d.b1, loss), 2e-3, 2e-2));
    EXPECT_TRUE(matches_finite_difference(g.w2, finite_difference(d.w2, loss), 2e-3, 2e-2));
    EXPECT_TRUE(matches_finite_difference(g.b2, finite_difference(d.b2, loss), 2e-3, 2e-2));
}

TEST(GateNu, NullGradientOutputsAreSkipped) {
    GateNuData d({33, 13, 17, 5, 2.0f, true});
    std::vector<float> h, del;
    forward(d, false, h, del);
    const auto gd = random_vector(33 * 5, 3);
    std::vector<float> gx(33 * 13);
    ASSERT_EQ(dynrec_gate_nu_backward(DYNREC_DEVICE_CPU, nullptr, 33, 13, 17, 5, d.x.data(), d.w1.data(), d.w2.data(),
                                      2.0f, h.data(), del.data(), gd.data(), 13, gx.data(), nullptr, nullptr,
                                      nullptr, nullptr, nullptr, 0),
              DYNREC_OK);
    Grads full = backward(d, false, h, del, gd);
    EXPECT_TRUE(all_close(gx, full.x, 0.0f, 0.0f));
}


// The leading columns of x the gradient is asked for (the rest stop-gradient):
// exactly the reference's, the same columns of the whole gradient, and the
// weight gradients untouched by it.
TEST(GateNu, PartialInputGradientIsTheLeadingColumnsOfTheWholeOne) {
    for (const auto& c : odd_cases()) {
        for (int64_t k : {int64_t(1), c.n_in / 2 + 1, c.n_in}) {
            if (k > c.n_in) continue;
            SCOPED_TRACE("batch " + std::to_string(c.batch) + " n_in " + std::to_string(c.n_in) + " n_in_grad " +
                         std::to_string(k));
            GateNuData d(c, 3);
            std::vector<float> h, del;
            forward(d, true, h, del);
            const auto gd = random_vector(c.batch * c.n_out, 41);
            const Grads whole = backward(d, true, h, del, gd);
            const Grads ref = backward(d, true, h, del, gd, k), opt = backward(d, false, h, del, gd, k);
            std::vector<float> leading(static_cast<size_t>(c.batch * k));
            for (int64_t i = 0; i < c.batch; ++i)
                for (int64_t p = 0; p < k; ++p) leading[i * k + p] = whole.x[i * c.n_in + p];
            EXPECT_TRUE(all_close(ref.x, leading, 0.0f, 0.0f));
            EXPECT_TRUE(all_close(opt.x, leading, 1e-5f, 1e-4f));
            EXPECT_TRUE(all_close(ref.w1, whole.w1, 0.0f, 0.0f));
            EXPECT_TRUE(all_close(opt.w1, whole.w1, 1e-4f, 1e-4f));
            EXPECT_TRUE(all_close(opt.w2, whole.w2, 1e-4f, 1e-4f));
        }
    }
}

TEST(GateNu, ValidationNamesTheOffendingArgument) {
    GateNuData d({4, 3, 2, 2, 2.0f, true});
    std::vector<float> h(8), del(8);
    auto fwd = [&](int32_t dev, int64_t b, int64_t ni, int64_t nh, int64_t no, const float* x, const float* w1,
                   const float* w2, float* out, float gamma) {
        return dynrec_gate_nu_forward(dev, nullptr, b, ni, nh, no, x, w1, nullptr, w2, nullptr, gamma, h.data(), out);
    };
    const float *x = d.x.data(), *w1 = d.w1.data(), *w2 = d.w2.data();
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 2, nullptr, w1, w2, del.data(), 2.f), "x"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 2, x, nullptr, w2, del.data(), 2.f), "w1"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 2, x, w1, nullptr, del.data(), 2.f), "w2"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 2, x, w1, w2, nullptr, 2.f), "delta"));
    EXPECT_TRUE(rejected_naming(fwd(0, 0, 3, 2, 2, x, w1, w2, del.data(), 2.f), "batch"));
    EXPECT_TRUE(rejected_naming(fwd(0, -4, 3, 2, 2, x, w1, w2, del.data(), 2.f), "batch"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, -3, 2, 2, x, w1, w2, del.data(), 2.f), "n_in"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 0, 2, x, w1, w2, del.data(), 2.f), "n_hidden"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, -1, x, w1, w2, del.data(), 2.f), "n_out"));
    EXPECT_TRUE(rejected_naming(fwd(0, int64_t(1) << 30, int64_t(1) << 30, 2, 2, x, w1, w2, del.data(), 2.f), "x"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 2, x, w1, w2, del.data(), NAN), "gamma"));
    EXPECT_TRUE(rejected_naming(fwd(7, 4, 3, 2, 2, x, w1, w2, del.data(), 2.f), "device"));
    int32_t gpus = 0;
    ASSERT_EQ(dynrec_cuda_device_count(&gpus), DYNREC_OK);
    if (gpus == 0) {
        EXPECT_TRUE(rejected_naming(fwd(DYNREC_DEVICE_CUDA, 4, 3, 2, 2, x, w1, w2, del.data(), 2.f), "device"));
    }

    const auto gd = random_vector(8, 1);
    EXPECT_TRUE(rejected_naming(
        dynrec_gate_nu_backward(0, nullptr, 4, 3, 2, 2, x, w1, w2, 2.f, nullptr, del.data(), gd.data(), 3,
                                nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0),
        "hidden"));
    EXPECT_TRUE(rejected_naming(
        dynrec_gate_nu_backward(0, nullptr, 4, 3, 2, 2, x, w1, w2, 2.f, h.data(), del.data(), nullptr, 3,
                                nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0),
        "grad_delta"));
    EXPECT_TRUE(rejected_naming(
        dynrec_gate_nu_backward(0, nullptr, 4, 3, 2, 2, x, w1, w2, 2.f, h.data(), del.data(), gd.data(), 3,
                                nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, -1),
        "workspace_bytes"));
    std::vector<float> gx(12);
    for (int64_t bad : {int64_t(-1), int64_t(4)})
        EXPECT_TRUE(rejected_naming(dynrec_gate_nu_backward(0, nullptr, 4, 3, 2, 2, x, w1, w2, 2.f, h.data(),
                                                            del.data(), gd.data(), bad, gx.data(), nullptr, nullptr,
                                                            nullptr, nullptr, nullptr, 0),
                                    "n_in_grad"));
    EXPECT_TRUE(rejected_naming(dynrec_gate_nu_backward(0, nullptr, 4, 3, 2, 2, x, w1, w2, 2.f, h.data(), del.data(),
                                                        gd.data(), 0, gx.data(), nullptr, nullptr, nullptr, nullptr,
                                                        nullptr, 0),
                                "n_in_grad"));
    EXPECT_TRUE(rejected_naming(dynrec_gate_nu_backward_reference(4, 3, 2, 2, x, w1, w2, 2.f, h.data(), del.data(),
                                                                  gd.data(), 5, gx.data(), nullptr, nullptr, nullptr,
                                                                  nullptr),
                                "n_in_grad"));
    // No grad_x: n_in_grad 0 is fine (only the weights' gradients are wanted).
    std::vector<float> gw2(4);
    EXPECT_EQ(dynrec_gate_nu_backward(0, nullptr, 4, 3, 2, 2, x, w1, w2, 2.f, h.data(), del.data(), gd.data(), 0,
                                      nullptr, nullptr, nullptr, gw2.data(), nullptr, nullptr, 0),
              DYNREC_OK);
    int64_t bytes = -1;
    EXPECT_TRUE(rejected_naming(dynrec_gate_nu_workspace_size(0, 4, 3, 2, 2, nullptr), "bytes"));
    ASSERT_EQ(dynrec_gate_nu_workspace_size(0, 4, 3, 2, 2, &bytes), DYNREC_OK);
    EXPECT_EQ(bytes, 0);
}

TEST(GateNu, LastErrorIsPerThreadAndClearedOnSuccess) {
    GateNuData d({4, 3, 2, 2, 2.0f, true});
    std::vector<float> h(8), del(8);
    ASSERT_NE(dynrec_gate_nu_forward(0, nullptr, 4, 3, 2, 2, nullptr, d.w1.data(), nullptr, d.w2.data(), nullptr, 2.f,
                                     h.data(), del.data()),
              DYNREC_OK);
    std::string other;
    std::thread([&] { other = dynrec_last_error(); }).join();
    EXPECT_EQ(other, "");
    EXPECT_NE(std::string(dynrec_last_error()), "");
    ASSERT_EQ(dynrec_gate_nu_forward(0, nullptr, 4, 3, 2, 2, d.x.data(), d.w1.data(), nullptr, d.w2.data(), nullptr,
                                     2.f, h.data(), del.data()),
              DYNREC_OK);
    EXPECT_EQ(std::string(dynrec_last_error()), "");
}

TEST(GateNu, ConcurrentCallsGiveIdenticalResults) {
    GateNuData d({257, 67, 33, 19, 2.0f, true});
    std::vector<float> h0, d0;
    forward(d, false, h0, d0);
    std::vector<std::vector<float>> outs(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int rep = 0; rep < 5; ++rep) {
                std::vector<float> h;
                forward(d, false, h, outs[t]);
            }
        });
    for (auto& th : threads) th.join();
    for (const auto& o : outs) EXPECT_TRUE(all_close(o, d0, 0.0f, 0.0f));
}
