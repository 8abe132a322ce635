// Multi-tensor Adam / AdamW: optimized vs reference on odd sizes over
// several steps, one element checked against PyTorch's formulas written out
// in double, clipping (norm reported, equivalent to pre-scaled gradients),
// gradients left untouched, validation paths, determinism, thread safety.
#include <cmath>
#include <thread>

#include "dynrec/dynrec.h"
#include "test_util.h"

using namespace dynrec_test;

namespace {

struct Params {
    std::vector<int64_t> numels;
    std::vector<std::vector<float>> p, g, m, v;
    explicit Params(const std::vector<int64_t>& sizes, uint32_t seed = 1) : numels(sizes) {
        for (size_t i = 0; i < sizes.size(); ++i) {
            p.push_back(random_vector(sizes[i], seed + 10 * uint32_t(i)));
            g.push_back(random_vector(sizes[i], seed + 10 * uint32_t(i) + 1));
            m.push_back(std::vector<float>(static_cast<size_t>(sizes[i]), 0.0f));
            v.push_back(std::vector<float>(static_cast<size_t>(sizes[i]), 0.0f));
        }
    }
    int64_t n() const { return static_cast<int64_t>(numels.size()); }
};

struct Hyper {
    double lr = 1e-2, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0.0;
    int32_t decoupled = 0;
    double max_norm = 0.0;
};

dynrec_status step(Params& ps, bool reference, const Hyper& h, int64_t k, float* norm = nullptr) {
    std::vector<float*> p, m, v;
    std::vector<const float*> g;
    for (int64_t i = 0; i < ps.n(); ++i) {
        p.push_back(ps.p[i].data());
        g.push_back(ps.g[i].data());
        m.push_back(ps.m[i].data());
        v.push_back(ps.v[i].data());
    }
    return reference ? dynrec_adam_step_reference(ps.n(), p.data(), g.data(), m.data(), v.data(), ps.numels.data(),
                                                  h.lr, h.beta1, h.beta2, h.eps, h.wd, h.decoupled, k, h.max_norm, norm)
                     : dynrec_adam_step(DYNREC_DEVICE_CPU, nullptr, ps.n(), p.data(), g.data(), m.data(), v.data(),
                                        ps.numels.data(), h.lr, h.beta1, h.beta2, h.eps, h.wd, h.decoupled, k,
                                        h.max_norm, norm, nullptr, 0);
}

std::vector<Hyper> variants() {
    Hyper adam, adam_l2, adamw, clipped, clipped_w;
    adam_l2.wd = 0.1;
    adamw.wd = 0.1;
    adamw.decoupled = 1;
    clipped.max_norm = 0.5;
    clipped_w = adamw;
    clipped_w.max_norm = 2.0;
    return {adam, adam_l2, adamw, clipped, clipped_w};
}

}  // namespace

TEST(Adam, OptimizedMatchesReferenceOnOddSizesOverSteps) {
    const std::vector<int64_t> sizes{1, 7, 33, 1000, 16385, 3 * 16384 + 5, 64};
    for (const Hyper& h : variants()) {
        SCOPED_TRACE("wd " + std::to_string(h.wd) + " decoupled " + std::to_string(h.decoupled) + " clip " +
                     std::to_string(h.max_norm));
        Params r(sizes), o(sizes);
        for (int64_t k = 1; k <= 5; ++k) {
            float nr = -1.0f, no = -1.0f;
            ASSERT_EQ(step(r, true, h, k, &nr), DYNREC_OK) << dynrec_last_error();
            ASSERT_EQ(step(o, false, h, k, &no), DYNREC_OK) << dynrec_last_error();
            EXPECT_NEAR(no, nr, 1e-6 * std::fabs(nr));
            for (size_t i = 0; i < sizes.size(); ++i) {
                EXPECT_TRUE(all_close(o.p[i], r.p[i], 1e-7f, 1e-6f));
                EXPECT_TRUE(all_close(o.m[i], r.m[i], 1e-7f, 1e-6f));
                EXPECT_TRUE(all_close(o.v[i], r.v[i], 1e-7f, 1e-6f));
            }
        }
    }
}

TEST(Adam, MatchesPyTorchFormulasInDouble) {
    for (int32_t decoupled : {0, 1}) {
        Params ps({1});
        Hyper h;
        h.wd = 0.05;
        h.decoupled = decoupled;
        double p = ps.p[0][0], m = 0, v = 0;
        for (int64_t k = 1; k <= 4; ++k) {
            ps.g[0][0] = 0.3f * float(k) - 0.5f;
            double g = ps.g[0][0];
            if (decoupled) p *= 1 - h.lr * h.wd;
            else g += h.wd * p;
            m = h.beta1 * m + (1 - h.beta1) * g;
            v = h.beta2 * v + (1 - h.beta2) * g * g;
            const double denom = std::sqrt(v) / std::sqrt(1 - std::pow(h.beta2, k)) + h.eps;
            p -= h.lr / (1 - std::pow(h.beta1, k)) * m / denom;
            ASSERT_EQ(step(ps, false, h, k), DYNREC_OK) << dynrec_last_error();
            EXPECT_NEAR(ps.p[0][0], p, 1e-6 * std::fabs(p) + 1e-7) << "step " << k << " decoupled " << decoupled;
        }
    }
}

TEST(Adam, ClippingReportsTheNormAndScalesGradients) {
    const std::vector<int64_t> sizes{5, 300, 17};
    Params clipped(sizes, 4), prescaled(sizes, 4);
    double sq = 0.0;
    for (const auto& g : clipped.g)
        for (float x : g) sq += double(x) * x;
    const double norm = std::sqrt(sq), max_norm = 0.25 * norm;
    Hyper h;
    h.max_norm = max_norm;
    float reported = 0.0f;
    const auto grads_before = clipped.g;
    ASSERT_EQ(step(clipped, false, h, 1, &reported), DYNREC_OK) << dynrec_last_error();
    EXPECT_NEAR(reported, norm, 1e-6 * norm);
    EXPECT_EQ(clipped.g, grads_before);  // gradients are not modified
    const float coef = float(max_norm / (norm + 1e-6));
    for (auto& g : prescaled.g)
        for (float& x : g) x *= coef;
    ASSERT_EQ(step(prescaled, false, Hyper{}, 1), DYNREC_OK);
    for (size_t i = 0; i < sizes.size(); ++i) EXPECT_TRUE(all_close(clipped.p[i], prescaled.p[i], 1e-7f, 1e-6f));
    // A norm below max_norm leaves the gradients as they are.
    Params loose(sizes, 4), plain(sizes, 4);
    h.max_norm = 2 * norm;
    ASSERT_EQ(step(loose, false, h, 1, &reported), DYNREC_OK);
    ASSERT_EQ(step(plain, false, Hyper{}, 1), DYNREC_OK);
    for (size_t i = 0; i < sizes.size(); ++i) EXPECT_EQ(loose.p[i], plain.p[i]);
}

TEST(Adam, ValidationNamesTheOffendingArgument) {
    Params ps({4, 3, 2});
    Hyper h;
    EXPECT_TRUE(rejected_mentioning([&] { Hyper x = h; x.lr = NAN; return step(ps, false, x, 1); }(), "lr"));
    EXPECT_TRUE(rejected_mentioning([&] { Hyper x = h; x.beta1 = 1.0; return step(ps, false, x, 1); }(), "beta1"));
    EXPECT_TRUE(rejected_mentioning([&] { Hyper x = h; x.beta2 = -0.1; return step(ps, true, x, 1); }(), "beta2"));
    EXPECT_TRUE(rejected_mentioning([&] { Hyper x = h; x.eps = -1; return step(ps, false, x, 1); }(), "eps"));
    EXPECT_TRUE(rejected_mentioning([&] { Hyper x = h; x.wd = -1; return step(ps, false, x, 1); }(), "weight_decay"));
    EXPECT_TRUE(rejected_mentioning([&] { Hyper x = h; x.decoupled = 2; return step(ps, false, x, 1); }(), "decoupled"));
    EXPECT_TRUE(rejected_mentioning(step(ps, false, h, 0), "step"));
    { Params q = ps; q.numels[2] = 0; EXPECT_TRUE(rejected_mentioning(step(q, false, h, 1), "numels[2]")); }
    std::vector<float*> p{ps.p[0].data(), nullptr, ps.p[2].data()}, m{ps.m[0].data(), ps.m[1].data(), ps.m[2].data()},
        v{ps.v[0].data(), ps.v[1].data(), ps.v[2].data()};
    std::vector<const float*> g{ps.g[0].data(), ps.g[1].data(), ps.g[2].data()};
    EXPECT_TRUE(rejected_mentioning(dynrec_adam_step(0, nullptr, 3, p.data(), g.data(), m.data(), v.data(),
                                                 ps.numels.data(), 1e-3, 0.9, 0.999, 1e-8, 0, 0, 1, 0, nullptr,
                                                 nullptr, 0),
                                "params[1]"));
    p[1] = ps.p[1].data();
    g[0] = nullptr;
    EXPECT_TRUE(rejected_mentioning(dynrec_adam_step_reference(3, p.data(), g.data(), m.data(), v.data(),
                                                           ps.numels.data(), 1e-3, 0.9, 0.999, 1e-8, 0, 0, 1, 0,
                                                           nullptr),
                                "grads[0]"));
    EXPECT_TRUE(rejected_mentioning(dynrec_adam_step(0, nullptr, 0, p.data(), g.data(), m.data(), v.data(),
                                                 ps.numels.data(), 1e-3, 0.9, 0.999, 1e-8, 0, 0, 1, 0, nullptr,
                                                 nullptr, 0),
                                "num_tensors"));
    EXPECT_TRUE(rejected_mentioning(dynrec_adam_step(0, nullptr, 3, p.data(), g.data(), nullptr, v.data(),
                                                 ps.numels.data(), 1e-3, 0.9, 0.999, 1e-8, 0, 0, 1, 0, nullptr,
                                                 nullptr, 0),
                                "exp_avgs"));
    EXPECT_TRUE(rejected_mentioning(dynrec_adam_step(7, nullptr, 3, p.data(), g.data(), m.data(), v.data(),
                                                 ps.numels.data(), 1e-3, 0.9, 0.999, 1e-8, 0, 0, 1, 0, nullptr,
                                                 nullptr, 0),
                                "device"));
    int64_t bytes = -1;
    ASSERT_EQ(dynrec_adam_workspace_size(0, 3, ps.numels.data(), &bytes), DYNREC_OK);
    EXPECT_EQ(bytes, 0);
    EXPECT_TRUE(rejected_mentioning(dynrec_adam_workspace_size(0, 3, nullptr, &bytes), "numels"));
}

TEST(Adam, BitwiseDeterministicAcrossThreadCounts) {
    const std::vector<int64_t> sizes{100000, 3, 40000};
    Hyper h;
    h.max_norm = 1.0;
    std::vector<Params> runs;
    std::vector<float> norms;
    for (int threads : {1, 2, 3}) {
        ASSERT_EQ(dynrec_set_num_threads(threads), DYNREC_OK);
        Params ps(sizes, 7);
        float norm = 0;
        ASSERT_EQ(step(ps, false, h, 1, &norm), DYNREC_OK);
        runs.push_back(ps);
        norms.push_back(norm);
    }
    ASSERT_EQ(dynrec_set_num_threads(0), DYNREC_OK);
    for (size_t r = 1; r < runs.size(); ++r) {
        EXPECT_EQ(norms[r], norms[0]);
        for (size_t i = 0; i < sizes.size(); ++i) EXPECT_EQ(runs[r].p[i], runs[0].p[i]);
    }
}

TEST(Adam, ConcurrentCallsGiveIdenticalResults) {
    const std::vector<int64_t> sizes{5000, 17, 33333};
    Hyper h;
    h.wd = 0.01;
    h.decoupled = 1;
    Params expected(sizes, 3);
    for (int64_t k = 1; k <= 3; ++k) ASSERT_EQ(step(expected, false, h, k), DYNREC_OK);
    std::vector<Params> got(4, Params(sizes, 3));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int64_t k = 1; k <= 3; ++k) EXPECT_EQ(step(got[t], false, h, k), DYNREC_OK);
        });
    for (auto& th : threads) th.join();
    for (const Params& g : got)
        for (size_t i = 0; i < sizes.size(); ++i) EXPECT_EQ(g.p[i], expected.p[i]);
}
