// hyper_linear: optimized vs reference on odd shapes for every activation and
// every bias combination, forward and backward, with a condition per row and
// shared by groups of rows (rows_per_cond); both vs an explicit per-row S
// materialization written here; backward vs finite differences; NULL outputs
// skipped; validation; thread safety.
#include <cmath>
#include <string>
#include <thread>
#include <tuple>

#include "dynrec/dynrec.h"
#include "test_util.h"

using namespace dynrec_test;

namespace {

const int32_t kActivations[] = {DYNREC_ACT_NONE, DYNREC_ACT_RELU, DYNREC_ACT_SIGMOID, DYNREC_ACT_TANH,
                                DYNREC_ACT_LEAKY_RELU};

struct Case {
    int64_t batch, n_in, n_out, n_cond;
    int32_t act;
    int biases;  // bit 0: g_b, bit 1: c_w, bit 2: c_b
    int64_t rows = 1;  // rows_per_cond: z has batch / rows rows
    std::string name() const {
        return "B" + std::to_string(batch) + " " + std::to_string(n_in) + "->" + std::to_string(n_out) + " cond " +
               std::to_string(n_cond) + " act " + std::to_string(act) + " biases " + std::to_string(biases) +
               " rows/cond " + std::to_string(rows);
    }
};

struct Data {
    Case c;
    std::vector<float> x, z, g_w, g_b, c_w, c_b;
    Data(const Case& k, uint32_t seed) : c(k) {
        x = random_vector(c.batch * c.n_in, seed);
        z = random_vector(c.batch / c.rows * c.n_cond, seed + 1);
        const float scale = 1.0f / std::sqrt(float(c.n_in * c.n_cond));
        g_w = random_vector(c.n_in * c.n_out * c.n_cond, seed + 2, -scale, scale);
        g_b = random_vector(c.n_in * c.n_out, seed + 3, -0.3f, 0.3f);
        c_w = random_vector(c.n_out * c.n_cond, seed + 4, -0.3f, 0.3f);
        c_b = random_vector(c.n_out, seed + 5, -0.2f, 0.2f);
    }
    const float* pgb() const { return (c.biases & 1) ? g_b.data() : nullptr; }
    const float* pcw() const { return (c.biases & 2) ? c_w.data() : nullptr; }
    const float* pcb() const { return (c.biases & 4) ? c_b.data() : nullptr; }
};

struct Grads {
    std::vector<float> x, z, g_w, g_b, c_w, c_b;
};

std::vector<float> forward(const Data& d, bool reference) {
    const Case& c = d.c;
    std::vector<float> y(c.batch * c.n_out);
    const dynrec_status st =
        reference ? dynrec_hyper_linear_forward_reference(c.batch, c.n_in, c.n_out, c.n_cond, c.rows, d.x.data(),
                                                          d.z.data(), d.g_w.data(), d.pgb(), d.pcw(), d.pcb(), c.act,
                                                          y.data())
                  : dynrec_hyper_linear_forward(DYNREC_DEVICE_CPU, nullptr, c.batch, c.n_in, c.n_out, c.n_cond, c.rows,
                                                d.x.data(), d.z.data(), d.g_w.data(), d.pgb(), d.pcw(), d.pcb(),
                                                c.act, y.data(), nullptr, 0);
    EXPECT_EQ(st, DYNREC_OK) << dynrec_last_error();
    return y;
}

Grads backward(const Data& d, bool reference, const std::vector<float>& y, const std::vector<float>& gy) {
    const Case& c = d.c;
    Grads g{std::vector<float>(d.x.size()), std::vector<float>(d.z.size()), std::vector<float>(d.g_w.size()),
            std::vector<float>(d.g_b.size()), std::vector<float>(d.c_w.size()), std::vector<float>(d.c_b.size())};
    const dynrec_status st =
        reference ? dynrec_hyper_linear_backward_reference(c.batch, c.n_in, c.n_out, c.n_cond, c.rows, d.x.data(),
                                                           d.z.data(),
                                                           d.g_w.data(), d.pgb(), d.pcw(), c.act, y.data(), gy.data(),
                                                           g.x.data(), g.z.data(), g.g_w.data(), g.g_b.data(),
                                                           g.c_w.data(), g.c_b.data())
                  : dynrec_hyper_linear_backward(DYNREC_DEVICE_CPU, nullptr, c.batch, c.n_in, c.n_out, c.n_cond, c.rows,
                                                 d.x.data(), d.z.data(), d.g_w.data(), d.pgb(), d.pcw(), c.act,
                                                 y.data(), gy.data(), g.x.data(), g.z.data(), g.g_w.data(),
                                                 g.g_b.data(), g.c_w.data(), g.c_b.data(), nullptr, 0);
    EXPECT_EQ(st, DYNREC_OK) << dynrec_last_error();
    return g;
}

void expect_grads_close(const Grads& a, const Grads& b, float atol, float rtol) {
    EXPECT_TRUE(all_close(a.x, b.x, atol, rtol)) << "grad_x";
    EXPECT_TRUE(all_close(a.z, b.z, atol, rtol)) << "grad_z";
    EXPECT_TRUE(all_close(a.g_w, b.g_w, atol, rtol)) << "grad_g_w";
    EXPECT_TRUE(all_close(a.g_b, b.g_b, atol, rtol)) << "grad_g_b";
    EXPECT_TRUE(all_close(a.c_w, b.c_w, atol, rtol)) << "grad_c_w";
    EXPECT_TRUE(all_close(a.c_b, b.c_b, atol, rtol)) << "grad_c_b";
}

std::vector<Case> odd_cases() {
    std::vector<Case> cases;
    int k = 0;
    for (int32_t act : kActivations)
        for (int64_t b : odd_batches()) {
            cases.push_back({b, 13, 37, 5, act, 7});
            cases.push_back({b, 37, 13, 16, act, (k++) % 8});
            if (b != 1000) cases.push_back({b, 67, 19, 3, act, (k++) % 8});
        }
    cases.push_back({33, 1, 1, 1, DYNREC_ACT_TANH, 7});
    cases.push_back({33, 1, 1, 1, DYNREC_ACT_NONE, 0});
    // The weight-gradient GEMM has two orientations (weight_grad_by_rows in
    // hyper_linear.cpp); the shapes above reach both (13->37 cond 5: rows,
    // 37->13 cond 16: columns), and so do these two at APG / M2M-like sizes.
    cases.push_back({67, 64, 64, 16, DYNREC_ACT_RELU, 7});  // rows
    cases.push_back({67, 40, 1, 9, DYNREC_ACT_NONE, 7});    // columns (n_out = 1)
    // Batch <= 32 takes the small-batch path instead (every shape at batches 1 and 7
    // above, and this APG-sized one).
    cases.push_back({9, 64, 64, 16, DYNREC_ACT_RELU, 7});
    // Shared conditions (hyper_grouped.cpp): odd group sizes and counts, every bias
    // combination; 600 rows of 64x64 in pairs cross its block of 256 groups, and a
    // 1100x1000 layer has one group per block.
    for (int32_t act : kActivations)
        for (int64_t rows : {2, 3, 12}) {
            cases.push_back({rows * 11, 13, 37, 5, act, (k++) % 8, rows});
            cases.push_back({rows * 7, 37, 13, 16, act, (k++) % 8, rows});
        }
    cases.push_back({600, 64, 64, 16, DYNREC_ACT_LEAKY_RELU, 7, 2});
    cases.push_back({6, 1100, 1000, 2, DYNREC_ACT_NONE, 7, 2});
    cases.push_back({5, 3, 4, 2, DYNREC_ACT_RELU, 7, 5});  // one group
    return cases;
}

// The spec written out once more, independently: S_i materialized explicitly.
struct Explicit {
    std::vector<float> y;
    Grads g;
};
Explicit explicit_s(const Data& d, const std::vector<float>& gy) {
    const Case& c = d.c;
    const int64_t ni = c.n_in, no = c.n_out, nc = c.n_cond;
    Explicit e{std::vector<float>(c.batch * no),
               {std::vector<float>(d.x.size()), std::vector<float>(d.z.size()), std::vector<float>(d.g_w.size()),
                std::vector<float>(d.g_b.size()), std::vector<float>(d.c_w.size()), std::vector<float>(d.c_b.size())}};
    std::vector<double> gw(d.g_w.size()), gb(d.g_b.size()), cw(d.c_w.size()), cb(d.c_b.size());
    std::vector<double> gz(d.z.size());
    for (int64_t i = 0; i < c.batch; ++i) {
        const float* zi = d.z.data() + (i / c.rows) * nc;  // the row's condition
        std::vector<double> S(ni * no);
        for (int64_t ab = 0; ab < ni * no; ++ab) {
            double v = d.pgb() ? d.g_b[ab] : 0.0;
            for (int64_t cc = 0; cc < nc; ++cc) v += double(zi[cc]) * d.g_w[ab * nc + cc];
            S[ab] = v;
        }
        std::vector<double> gpre(no);
        for (int64_t b = 0; b < no; ++b) {
            double v = d.pcb() ? d.c_b[b] : 0.0;
            for (int64_t cc = 0; cc < nc; ++cc) v += d.pcw() ? double(zi[cc]) * d.c_w[b * nc + cc] : 0.0;
            for (int64_t a = 0; a < ni; ++a) v += double(d.x[i * ni + a]) * S[a * no + b];
            double y = v, dy = 1.0;
            switch (c.act) {
                case DYNREC_ACT_RELU: y = v > 0 ? v : 0; dy = v > 0 ? 1 : 0; break;
                case DYNREC_ACT_SIGMOID: y = 1 / (1 + std::exp(-v)); dy = y * (1 - y); break;
                case DYNREC_ACT_TANH: y = std::tanh(v); dy = 1 - y * y; break;
                case DYNREC_ACT_LEAKY_RELU: y = v > 0 ? v : 0.01 * v; dy = v > 0 ? 1 : 0.01; break;
                default: break;
            }
            e.y[i * no + b] = float(y);
            gpre[b] = gy[i * no + b] * dy;
        }
        for (int64_t a = 0; a < ni; ++a) {
            double v = 0;
            for (int64_t b = 0; b < no; ++b) v += gpre[b] * S[a * no + b];
            e.g.x[i * ni + a] = float(v);
        }
        for (int64_t cc = 0; cc < nc; ++cc) {
            double v = 0;
            for (int64_t a = 0; a < ni; ++a)
                for (int64_t b = 0; b < no; ++b) v += d.x[i * ni + a] * gpre[b] * d.g_w[(a * no + b) * nc + cc];
            for (int64_t b = 0; b < no; ++b) v += d.pcw() ? gpre[b] * d.c_w[b * nc + cc] : 0.0;
            gz[(i / c.rows) * nc + cc] += v;  // rows sharing a condition add up
        }
        for (int64_t a = 0; a < ni; ++a)
            for (int64_t b = 0; b < no; ++b) {
                const double gs = d.x[i * ni + a] * gpre[b];
                gb[a * no + b] += gs;
                for (int64_t cc = 0; cc < nc; ++cc) gw[(a * no + b) * nc + cc] += gs * zi[cc];
            }
        for (int64_t b = 0; b < no; ++b) {
            cb[b] += gpre[b];
            for (int64_t cc = 0; cc < nc; ++cc) cw[b * nc + cc] += gpre[b] * zi[cc];
        }
    }
    for (size_t k = 0; k < gz.size(); ++k) e.g.z[k] = float(gz[k]);
    for (size_t k = 0; k < gw.size(); ++k) e.g.g_w[k] = float(gw[k]);
    for (size_t k = 0; k < gb.size(); ++k) e.g.g_b[k] = float(gb[k]);
    for (size_t k = 0; k < cw.size(); ++k) e.g.c_w[k] = float(cw[k]);
    for (size_t k = 0; k < cb.size(); ++k) e.g.c_b[k] = float(cb[k]);
    return e;
}

}  // namespace

TEST(HyperLinear, OptimizedForwardMatchesReferenceOnOddShapes) {
    for (const Case& c : odd_cases()) {
        SCOPED_TRACE(c.name());
        Data d(c, 3);
        EXPECT_TRUE(all_close(forward(d, false), forward(d, true), 1e-5f, 1e-4f));
    }
}

TEST(HyperLinear, OptimizedBackwardMatchesReferenceOnOddShapes) {
    for (const Case& c : odd_cases()) {
        SCOPED_TRACE(c.name());
        Data d(c, 13);
        const auto y = forward(d, true);
        const auto gy = random_vector(c.batch * c.n_out, 6);
        expect_grads_close(backward(d, false, y, gy), backward(d, true, y, gy), 1e-4f, 1e-4f);
    }
}

TEST(HyperLinear, OptimizedAndReferenceMatchExplicitSMaterialization) {
    // Batch 33 runs the outer-product kernels, batch 9 the small-batch path
    // (hyper_linear_materialized in hyper_linear.cpp), 3 rows per condition the grouped one.
    for (auto [batch, cond, rows] : {std::tuple<int64_t, int64_t, int64_t>{33, 5, 1}, {9, 16, 1}, {33, 5, 3}})
    for (int32_t act : kActivations)
        for (int biases : {0, 7, 1, 6}) {
            Case c{batch, 13, 37, cond, act, biases, rows};
            SCOPED_TRACE(c.name());
            Data d(c, 23);
            const auto gy = random_vector(c.batch * c.n_out, 7);
            const Explicit e = explicit_s(d, gy);
            EXPECT_TRUE(all_close(forward(d, false), e.y, 1e-5f, 1e-4f));
            EXPECT_TRUE(all_close(forward(d, true), e.y, 1e-5f, 1e-4f));
            expect_grads_close(backward(d, false, e.y, gy), e.g, 1e-4f, 1e-4f);
            expect_grads_close(backward(d, true, e.y, gy), e.g, 1e-4f, 1e-4f);
        }
}

TEST(HyperLinear, BackwardMatchesFiniteDifferences) {
    // Batch 5: the small-batch path; batch 33: the outer-product kernels; 3 rows per condition: grouped.
    for (auto [batch, cond, rows] : {std::tuple<int64_t, int64_t, int64_t>{5, 16, 1}, {33, 3, 1}, {12, 5, 3}})
    for (int32_t act : kActivations) {
        Case c{batch, 4, 6, cond, act, 7, rows};
        SCOPED_TRACE(c.name());
        Data d(c, 33);
        const auto probe = random_vector(c.batch * c.n_out, 9);
        const Grads g = backward(d, false, forward(d, true), probe);
        auto loss = [&] { return dot(forward(d, true), probe); };
        EXPECT_TRUE(matches_finite_difference(g.x, finite_difference(d.x, loss), 2e-3, 2e-2));
        EXPECT_TRUE(matches_finite_difference(g.z, finite_difference(d.z, loss), 2e-3, 2e-2));
        EXPECT_TRUE(matches_finite_difference(g.g_w, finite_difference(d.g_w, loss), 2e-3, 2e-2));
        EXPECT_TRUE(matches_finite_difference(g.g_b, finite_difference(d.g_b, loss), 2e-3, 2e-2));
        EXPECT_TRUE(matches_finite_difference(g.c_w, finite_difference(d.c_w, loss), 2e-3, 2e-2));
        EXPECT_TRUE(matches_finite_difference(g.c_b, finite_difference(d.c_b, loss), 2e-3, 2e-2));
    }
}

TEST(HyperLinear, BackwardWithoutYWhenActivationIsNone) {
    Case c{7, 13, 5, 4, DYNREC_ACT_NONE, 7};
    Data d(c, 43);
    const auto y = forward(d, false);
    const auto gy = random_vector(c.batch * c.n_out, 1);
    const Grads with_y = backward(d, false, y, gy);
    std::vector<float> gx(d.x.size());
    ASSERT_EQ(dynrec_hyper_linear_backward(DYNREC_DEVICE_CPU, nullptr, 7, 13, 5, 4, 1, d.x.data(), d.z.data(),
                                           d.g_w.data(), d.g_b.data(), d.c_w.data(), DYNREC_ACT_NONE, nullptr,
                                           gy.data(), gx.data(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                           0),
              DYNREC_OK)
        << dynrec_last_error();
    EXPECT_TRUE(all_close(gx, with_y.x, 0.0f, 0.0f));
}

TEST(HyperLinear, NullGradientOutputsAreSkipped) {
    for (auto [batch, cond, rows] : {std::tuple<int64_t, int64_t, int64_t>{33, 5, 1}, {9, 16, 1}, {33, 5, 3}}) {
    SCOPED_TRACE("batch " + std::to_string(batch) + " cond " + std::to_string(cond) + " rows " + std::to_string(rows));
    Case c{batch, 13, 37, cond, DYNREC_ACT_SIGMOID, 7, rows};
    Data d(c, 53);
    const auto y = forward(d, false);
    const auto gy = random_vector(c.batch * c.n_out, 2);
    const Grads full = backward(d, false, y, gy);
    const std::vector<float>* want[6] = {&full.x, &full.z, &full.g_w, &full.g_b, &full.c_w, &full.c_b};
    for (int which = 0; which < 6; ++which) {
        std::vector<std::vector<float>> got;
        float* ptr[6];
        for (int k = 0; k < 6; ++k) {
            got.emplace_back(want[k]->size(), -7.0f);
            ptr[k] = k == which ? got[k].data() : nullptr;
        }
        ASSERT_EQ(dynrec_hyper_linear_backward(DYNREC_DEVICE_CPU, nullptr, batch, 13, 37, cond, rows, d.x.data(),
                                               d.z.data(), d.g_w.data(), d.g_b.data(), d.c_w.data(), c.act, y.data(),
                                               gy.data(), ptr[0], ptr[1], ptr[2], ptr[3], ptr[4], ptr[5], nullptr, 0),
                  DYNREC_OK)
            << dynrec_last_error();
        EXPECT_TRUE(all_close(got[which], *want[which], 0.0f, 0.0f)) << "output " << which;
    }
    }
}

TEST(HyperLinear, ValidationNamesTheOffendingArgument) {
    Case c{4, 3, 2, 5, DYNREC_ACT_RELU, 7};
    Data d(c, 63);
    std::vector<float> y(8);
    const float *x = d.x.data(), *z = d.z.data(), *gw = d.g_w.data();
    auto fwd = [&](int32_t dev, int64_t B, int64_t ni, int64_t no, int64_t nc, const float* xx, const float* zz,
                   const float* ww, int32_t act, float* yy, int64_t rows = 1) {
        return dynrec_hyper_linear_forward(dev, nullptr, B, ni, no, nc, rows, xx, zz, ww, nullptr, nullptr, nullptr,
                                           act, yy, nullptr, 0);
    };
    ASSERT_EQ(fwd(0, 4, 3, 2, 5, x, z, gw, 1, y.data()), DYNREC_OK);
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 5, nullptr, z, gw, 1, y.data()), "x"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 5, x, nullptr, gw, 1, y.data()), "z"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 5, x, z, nullptr, 1, y.data()), "g_w"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 5, x, z, gw, 1, nullptr), "y"));
    EXPECT_TRUE(rejected_naming(fwd(0, 0, 3, 2, 5, x, z, gw, 1, y.data()), "batch"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, -3, 2, 5, x, z, gw, 1, y.data()), "n_in"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 0, 5, x, z, gw, 1, y.data()), "n_out"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, -5, x, z, gw, 1, y.data()), "n_cond"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 5, x, z, gw, 5, y.data()), "activation"));
    EXPECT_TRUE(rejected_naming(fwd(0, int64_t(1) << 30, int64_t(1) << 30, 2, 5, x, z, gw, 1, y.data()), "x"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, int64_t(1) << 39, x, z, gw, 1, y.data()), "z"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 1 << 20, 1 << 20, 1 << 10, x, z, gw, 1, y.data()), "g_w"));
    EXPECT_TRUE(rejected_naming(fwd(0, int64_t(1) << 30, 2, int64_t(1) << 30, 1, x, z, gw, 1, y.data()), "y"));
    EXPECT_TRUE(rejected_naming(fwd(-1, 4, 3, 2, 5, x, z, gw, 1, y.data()), "device"));
    ASSERT_EQ(fwd(0, 4, 3, 2, 5, x, z, gw, 1, y.data(), 2), DYNREC_OK);
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 5, x, z, gw, 1, y.data(), 0), "rows_per_cond"));
    EXPECT_TRUE(rejected_naming(fwd(0, 4, 3, 2, 5, x, z, gw, 1, y.data(), 3), "rows_per_cond"));
    int32_t gpus = 0;
    ASSERT_EQ(dynrec_cuda_device_count(&gpus), DYNREC_OK);
    if (gpus == 0) {
        EXPECT_TRUE(rejected_naming(fwd(DYNREC_DEVICE_CUDA, 4, 3, 2, 5, x, z, gw, 1, y.data()), "device"));
    }

    const auto gy = random_vector(8, 1);
    std::vector<float> gx(12);
    auto bwd = [&](const float* xx, const float* zz, const float* ww, int32_t act, const float* yy, const float* g,
                   int64_t ws) {
        return dynrec_hyper_linear_backward(0, nullptr, 4, 3, 2, 5, 1, xx, zz, ww, nullptr, nullptr, act, yy, g,
                                            gx.data(), nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, ws);
    };
    EXPECT_TRUE(rejected_naming(bwd(nullptr, z, gw, 1, y.data(), gy.data(), 0), "x"));
    EXPECT_TRUE(rejected_naming(bwd(x, nullptr, gw, 1, y.data(), gy.data(), 0), "z"));
    EXPECT_TRUE(rejected_naming(bwd(x, z, nullptr, 1, y.data(), gy.data(), 0), "g_w"));
    EXPECT_TRUE(rejected_naming(bwd(x, z, gw, 1, nullptr, gy.data(), 0), "y"));
    EXPECT_TRUE(rejected_naming(bwd(x, z, gw, 1, y.data(), nullptr, 0), "grad_y"));
    EXPECT_TRUE(rejected_naming(bwd(x, z, gw, 8, y.data(), gy.data(), 0), "activation"));
    EXPECT_TRUE(rejected_naming(bwd(x, z, gw, 1, y.data(), gy.data(), -2), "workspace_bytes"));
    EXPECT_TRUE(rejected_naming(dynrec_hyper_linear_forward_reference(4, 3, 2, 5, 1, x, z, nullptr, nullptr, nullptr,
                                                                      nullptr, 1, y.data()),
                                "g_w"));
    EXPECT_TRUE(rejected_naming(dynrec_hyper_linear_backward_reference(4, 3, 2, 5, 1, x, z, gw, nullptr, nullptr, 2,
                                                                       nullptr, gy.data(), gx.data(), nullptr, nullptr,
                                                                       nullptr, nullptr, nullptr),
                                "y"));
    int64_t bytes = -1;
    EXPECT_TRUE(rejected_naming(dynrec_hyper_linear_workspace_size(0, 4, 3, 2, 5, 1, nullptr), "bytes"));
    EXPECT_TRUE(rejected_naming(dynrec_hyper_linear_workspace_size(0, 4, 3, 0, 5, 1, &bytes), "n_out"));
    EXPECT_TRUE(rejected_naming(dynrec_hyper_linear_workspace_size(0, 4, 3, 2, 5, 3, &bytes), "rows_per_cond"));
    ASSERT_EQ(dynrec_hyper_linear_workspace_size(0, 4, 3, 2, 5, 1, &bytes), DYNREC_OK);
    EXPECT_EQ(bytes, 0);
}

TEST(HyperLinear, ConcurrentCallsGiveIdenticalResults) {
    // Per-row conditions, and shared ones (the grouped path's per-thread scratch).
    for (const Case& c : {Case{257, 37, 67, 16, DYNREC_ACT_TANH, 7}, Case{260, 37, 67, 16, DYNREC_ACT_TANH, 7, 4}}) {
    SCOPED_TRACE(c.name());
    Data d(c, 73);
    const auto y0 = forward(d, false);
    const auto gy = random_vector(c.batch * c.n_out, 4);
    const Grads g0 = backward(d, false, y0, gy);
    std::vector<std::vector<float>> ys(4);
    std::vector<Grads> gs(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int rep = 0; rep < 3; ++rep) {
                ys[t] = forward(d, false);
                gs[t] = backward(d, false, ys[t], gy);
            }
        });
    for (auto& th : threads) th.join();
    for (int t = 0; t < 4; ++t) {
        EXPECT_TRUE(all_close(ys[t], y0, 0.0f, 0.0f));
        expect_grads_close(gs[t], g0, 0.0f, 0.0f);
    }
    }
}
