// Table-batched embeddings: optimized vs reference (forward, fused backward +
// update for every optimizer and pooling) on odd shapes, gradients vs finite
// differences, duplicates, padding, untouched rows, invalid ids naming the
// field and table, validation paths, determinism and thread safety; and the
// same lookup over tables allocated apart with its accumulating backward.
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <thread>

#include "dynrec/dynrec.h"
#include "test_util.h"

using namespace dynrec_test;

namespace {

struct Field {
    int64_t table, bag;
    int32_t pooling;
};

// A TBE layout with its buffers; tables are laid out with a gap of `gap`
// elements between them so offsets are exercised.
struct Tbe {
    std::vector<int64_t> rows, dims, offsets, field_table, bags;
    std::vector<int32_t> pooling;
    int64_t batch = 0, slots = 0, width = 0, numel = 0, total_rows = 0;
    std::vector<float> weights;
    std::vector<int64_t> ids;

    Tbe(const std::vector<std::pair<int64_t, int64_t>>& tables, const std::vector<Field>& fields, int64_t b,
        uint32_t seed, double padding_share = 0.2, int64_t gap = 3)
        : batch(b) {
        for (const auto& [r, d] : tables) {
            rows.push_back(r);
            dims.push_back(d);
            offsets.push_back(numel);
            numel += r * d + gap;
            total_rows += r;
        }
        for (const Field& f : fields) {
            field_table.push_back(f.table);
            bags.push_back(f.bag);
            pooling.push_back(f.pooling);
            slots += f.bag;
        }
        EXPECT_EQ(dynrec_tbe_output_width(T(), dims.data(), F(), field_table.data(), bags.data(), pooling.data(),
                                          &width),
                  DYNREC_OK)
            << dynrec_last_error();
        weights = random_vector(numel, seed);
        std::mt19937 rng(seed + 7);
        std::uniform_real_distribution<double> u(0.0, 1.0);
        for (int64_t i = 0; i < batch; ++i)
            for (int64_t f = 0; f < F(); ++f)
                for (int64_t s = 0; s < bags[f]; ++s) {
                    const int64_t r = rows[field_table[f]];
                    ids.push_back(u(rng) < padding_share ? 0 : std::uniform_int_distribution<int64_t>(1, r - 1)(rng));
                }
    }
    int64_t T() const { return static_cast<int64_t>(rows.size()); }
    int64_t F() const { return static_cast<int64_t>(bags.size()); }

    dynrec_status forward(bool reference, std::vector<float>& out) const {
        out.assign(static_cast<size_t>(batch * width), -7.0f);
        return reference ? dynrec_tbe_forward_reference(T(), rows.data(), dims.data(), offsets.data(), F(),
                                                        field_table.data(), bags.data(), pooling.data(), weights.data(),
                                                        numel, batch, ids.data(), out.data())
                         : dynrec_tbe_forward(DYNREC_DEVICE_CPU, nullptr, T(), rows.data(), dims.data(), offsets.data(),
                                              F(), field_table.data(), bags.data(), pooling.data(), weights.data(),
                                              numel, batch, ids.data(), out.data(), nullptr, 0);
    }
};

struct OptState {
    std::vector<float> s1, s2;
    std::vector<int64_t> steps;
};

OptState make_state(const Tbe& t, int32_t optimizer, bool row_steps) {
    OptState s;
    if (optimizer == DYNREC_SPARSE_ROWWISE_ADAGRAD) s.s1 = random_vector(t.total_rows, 3, 0.0f, 0.5f);
    if (optimizer == DYNREC_SPARSE_LAZY_ADAM) {
        s.s1 = random_vector(t.numel, 4, -0.1f, 0.1f);
        s.s2 = random_vector(t.numel, 5, 0.0f, 0.1f);
        if (row_steps) s.steps.assign(static_cast<size_t>(t.total_rows), 2);
    }
    return s;
}

dynrec_status update(const Tbe& t, bool reference, std::vector<float>& weights, const std::vector<float>& grad_out,
                     int32_t optimizer, OptState& s, int64_t step = 3, float lr = 0.05f) {
    float* s1 = s.s1.empty() ? nullptr : s.s1.data();
    float* s2 = s.s2.empty() ? nullptr : s.s2.data();
    int64_t* rs = s.steps.empty() ? nullptr : s.steps.data();
    return reference ? dynrec_tbe_backward_update_reference(
                           t.T(), t.rows.data(), t.dims.data(), t.offsets.data(), t.F(), t.field_table.data(),
                           t.bags.data(), t.pooling.data(), weights.data(), t.numel, t.batch, t.ids.data(),
                           grad_out.data(), optimizer, lr, 1e-6f, 0.9f, 0.999f, step, s1, s2, rs)
                     : dynrec_tbe_backward_update(DYNREC_DEVICE_CPU, nullptr, t.T(), t.rows.data(), t.dims.data(),
                                                  t.offsets.data(), t.F(), t.field_table.data(), t.bags.data(),
                                                  t.pooling.data(), weights.data(), t.numel, t.batch, t.ids.data(),
                                                  grad_out.data(), optimizer, lr, 1e-6f, 0.9f, 0.999f, step, s1, s2,
                                                  rs, nullptr, 0);
}

// Odd layouts: every pooling, shared tables, dims 1/3/17/33, tiny vocabularies (many duplicates).
std::vector<Tbe> odd_layouts(uint32_t seed) {
    std::vector<Tbe> v;
    for (int64_t b : odd_batches()) {
        v.emplace_back(std::vector<std::pair<int64_t, int64_t>>{{5, 3}, {101, 17}, {2, 1}, {1000, 33}},
                       std::vector<Field>{{0, 1, DYNREC_POOLING_SUM},
                                          {1, 1, DYNREC_POOLING_MEAN},
                                          {3, 7, DYNREC_POOLING_MEAN},
                                          {3, 5, DYNREC_POOLING_SUM},
                                          {1, 3, DYNREC_POOLING_NONE},
                                          {2, 2, DYNREC_POOLING_NONE}},
                       b, seed + static_cast<uint32_t>(b));
    }
    return v;
}

std::set<int64_t> touched_rows(const Tbe& t) {  // global rows with a non-padding id
    std::set<int64_t> s;
    std::vector<int64_t> base(t.rows.size(), 0);
    for (size_t i = 1; i < base.size(); ++i) base[i] = base[i - 1] + t.rows[i - 1];
    for (int64_t b = 0; b < t.batch; ++b) {
        int64_t slot = 0;
        for (int64_t f = 0; f < t.F(); ++f)
            for (int64_t k = 0; k < t.bags[f]; ++k, ++slot) {
                const int64_t id = t.ids[b * t.slots + slot];
                if (id != 0) s.insert(base[t.field_table[f]] + id);
            }
    }
    return s;
}

const int32_t kOptimizers[] = {DYNREC_SPARSE_SGD, DYNREC_SPARSE_ROWWISE_ADAGRAD, DYNREC_SPARSE_LAZY_ADAM};

}  // namespace

TEST(Tbe, ForwardOptimizedMatchesReferenceOnOddShapes) {
    for (const Tbe& t : odd_layouts(1)) {
        SCOPED_TRACE("batch " + std::to_string(t.batch));
        std::vector<float> ref, opt;
        ASSERT_EQ(t.forward(true, ref), DYNREC_OK) << dynrec_last_error();
        ASSERT_EQ(t.forward(false, opt), DYNREC_OK) << dynrec_last_error();
        EXPECT_TRUE(all_close(opt, ref, 1e-6f, 1e-6f));
    }
}

TEST(Tbe, ForwardPoolsSumMeanAndKeepsSequencesWithPaddingMasked) {
    // One table of 4 rows x 2; three fields over it: sum, mean, none; bags of 3.
    Tbe t({{4, 2}}, {{0, 3, DYNREC_POOLING_SUM}, {0, 3, DYNREC_POOLING_MEAN}, {0, 3, DYNREC_POOLING_NONE}}, 2, 1, 0.0,
          0);
    for (int64_t i = 0; i < 8; ++i) t.weights[i] = float(i + 1);  // row r = (2r+1, 2r+2)
    t.ids = {1, 3, 0, /**/ 1, 3, 0, /**/ 2, 0, 3, /* sample 1: */ 0, 0, 0, /**/ 0, 0, 0, /**/ 0, 1, 0};
    ASSERT_EQ(t.width, 2 + 2 + 6);
    std::vector<float> out;
    ASSERT_EQ(t.forward(false, out), DYNREC_OK) << dynrec_last_error();
    const std::vector<float> expected = {3 + 7, 4 + 8, (3 + 7) / 2.f, (4 + 8) / 2.f, 5, 6, 0, 0, 7, 8,
                                         0,     0,     0,             0,             0, 0, 3, 4, 0, 0};
    EXPECT_TRUE(all_close(out, expected, 0.0f, 0.0f));
    std::vector<float> ref;
    ASSERT_EQ(t.forward(true, ref), DYNREC_OK);
    EXPECT_TRUE(all_close(ref, expected, 0.0f, 0.0f));
}

TEST(Tbe, FusedUpdateMatchesReferenceForEveryOptimizerAndPooling) {
    for (const Tbe& t : odd_layouts(11)) {
        const auto go = random_vector(t.batch * t.width, 21);
        const std::set<int64_t> touched = touched_rows(t);
        for (int32_t o : kOptimizers)
            for (bool row_steps : {false, true}) {
                if (row_steps && o != DYNREC_SPARSE_LAZY_ADAM) continue;
                SCOPED_TRACE("batch " + std::to_string(t.batch) + " optimizer " + std::to_string(o) +
                             (row_steps ? " row_steps" : ""));
                OptState sr = make_state(t, o, row_steps), so = sr;
                std::vector<float> wr = t.weights, wo = t.weights;
                ASSERT_EQ(update(t, true, wr, go, o, sr), DYNREC_OK) << dynrec_last_error();
                ASSERT_EQ(update(t, false, wo, go, o, so), DYNREC_OK) << dynrec_last_error();
                EXPECT_TRUE(all_close(wo, wr, 1e-6f, 1e-6f));
                EXPECT_TRUE(all_close(so.s1, sr.s1, 1e-6f, 1e-6f));
                EXPECT_TRUE(all_close(so.s2, sr.s2, 1e-6f, 1e-6f));
                EXPECT_EQ(so.steps, sr.steps);
                // Untouched rows (padding row 0 included) and the gaps stay bit-identical.
                int64_t base = 0, changed_rows = 0;
                for (int64_t tb = 0; tb < t.T(); ++tb) {
                    for (int64_t r = 0; r < t.rows[tb]; ++r) {
                        const int64_t e = t.offsets[tb] + r * t.dims[tb];
                        const bool same = std::memcmp(&wo[e], &t.weights[e], sizeof(float) * t.dims[tb]) == 0;
                        if (!touched.count(base + r)) {
                            EXPECT_TRUE(same) << "untouched row " << r << " of table " << tb << " changed";
                            if (!row_steps || sr.steps.empty()) continue;
                            EXPECT_EQ(so.steps[base + r], 2);
                        } else {
                            changed_rows += !same;
                        }
                    }
                    base += t.rows[tb];
                    for (int64_t g = t.offsets[tb] + t.rows[tb] * t.dims[tb];
                         g < (tb + 1 < t.T() ? t.offsets[tb + 1] : t.numel); ++g)
                        EXPECT_EQ(wo[g], t.weights[g]) << "gap element " << g << " changed";
                }
                EXPECT_GT(changed_rows, 0);
            }
    }
}

TEST(Tbe, BackwardMatchesFiniteDifferencesOfForward) {
    // SGD with lr = 1 writes w - g, so g = w_before - w_after.
    Tbe t({{7, 3}, {5, 4}},
          {{0, 2, DYNREC_POOLING_SUM}, {1, 3, DYNREC_POOLING_MEAN}, {0, 2, DYNREC_POOLING_NONE}}, 5, 9, 0.25);
    const auto probe = random_vector(t.batch * t.width, 31);
    OptState none;
    std::vector<float> w = t.weights;
    ASSERT_EQ(update(t, true, w, probe, DYNREC_SPARSE_SGD, none, 1, 1.0f), DYNREC_OK) << dynrec_last_error();
    std::vector<float> grad(t.weights.size());
    for (size_t i = 0; i < grad.size(); ++i) grad[i] = t.weights[i] - w[i];
    Tbe probe_t = t;
    auto loss = [&] {
        std::vector<float> out;
        EXPECT_EQ(probe_t.forward(true, out), DYNREC_OK);
        return dot(out, probe);
    };
    EXPECT_TRUE(matches_finite_difference(grad, finite_difference(probe_t.weights, loss, 1e-2, 200), 1e-3, 1e-2));
}

TEST(Tbe, DuplicateIdsSumTheirGradients) {
    Tbe t({{10, 4}}, {{0, 1, DYNREC_POOLING_SUM}}, 33, 2, 0.0);
    for (auto& id : t.ids) id = 7;
    const auto go = random_vector(t.batch * t.width, 5);
    OptState none;
    std::vector<float> w = t.weights;
    ASSERT_EQ(update(t, false, w, go, DYNREC_SPARSE_SGD, none, 1, 0.5f), DYNREC_OK) << dynrec_last_error();
    for (int64_t j = 0; j < 4; ++j) {
        float g = 0.0f;
        for (int64_t b = 0; b < t.batch; ++b) g += go[b * 4 + j];
        EXPECT_EQ(w[7 * 4 + j], t.weights[7 * 4 + j] - 0.5f * g);
    }
}

TEST(Tbe, PaddingRowIsNeverUpdated) {
    Tbe t({{6, 5}}, {{0, 4, DYNREC_POOLING_MEAN}, {0, 3, DYNREC_POOLING_NONE}}, 7, 3, 0.6);
    const auto go = random_vector(t.batch * t.width, 6);
    for (int32_t o : kOptimizers) {
        OptState s = make_state(t, o, true);
        const OptState before = s;
        std::vector<float> w = t.weights;
        ASSERT_EQ(update(t, false, w, go, o, s), DYNREC_OK) << dynrec_last_error();
        for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(w[j], t.weights[j]);
        if (o == DYNREC_SPARSE_ROWWISE_ADAGRAD) {
            EXPECT_EQ(s.s1[0], before.s1[0]);
        }
        if (o == DYNREC_SPARSE_LAZY_ADAM) {
            for (int64_t j = 0; j < 5; ++j) EXPECT_EQ(s.s1[j], before.s1[j]);
            EXPECT_EQ(s.steps[0], before.steps[0]);
        }
    }
}

TEST(Tbe, LazyAdamRowStepsAdvanceOnlyForTouchedRows) {
    Tbe t({{50, 3}}, {{0, 2, DYNREC_POOLING_SUM}}, 4, 8, 0.0);
    const auto go = random_vector(t.batch * t.width, 2);
    OptState s = make_state(t, DYNREC_SPARSE_LAZY_ADAM, true);
    std::vector<float> w = t.weights;
    ASSERT_EQ(update(t, false, w, go, DYNREC_SPARSE_LAZY_ADAM, s), DYNREC_OK) << dynrec_last_error();
    const std::set<int64_t> touched = touched_rows(t);
    for (int64_t r = 0; r < 50; ++r) EXPECT_EQ(s.steps[r], touched.count(r) ? 3 : 2) << "row " << r;
}

TEST(Tbe, InvalidIdsAreRejectedNamingFieldAndTableBeforeAnyWrite) {
    Tbe t({{5, 2}, {9, 3}}, {{0, 1, DYNREC_POOLING_SUM}, {1, 2, DYNREC_POOLING_MEAN}}, 4, 1, 0.0);
    for (int64_t bad : {int64_t(9), int64_t(-1), int64_t(1) << 40}) {
        Tbe u = t;
        u.ids[2 * u.slots + 2] = bad;  // sample 2, field 1 (table 1), slot 1
        std::vector<float> out;
        EXPECT_TRUE(rejected_mentioning(u.forward(false, out), "field 1 (table 1)"));
        EXPECT_TRUE(rejected_mentioning(u.forward(true, out), "sample 2, slot 1"));
        for (int32_t o : kOptimizers) {
            OptState s = make_state(u, o, false);
            std::vector<float> w = u.weights;
            const auto go = random_vector(u.batch * u.width, 1);
            EXPECT_TRUE(rejected_mentioning(update(u, false, w, go, o, s), "field 1 (table 1)"));
            EXPECT_EQ(w, u.weights);
            EXPECT_TRUE(rejected_mentioning(update(u, true, w, go, o, s), "id " + std::to_string(bad)));
            EXPECT_EQ(w, u.weights);
        }
    }
}

TEST(Tbe, ValidationNamesTheOffendingArgument) {
    Tbe t({{5, 2}, {9, 3}}, {{0, 1, DYNREC_POOLING_SUM}, {1, 2, DYNREC_POOLING_MEAN}}, 4, 1, 0.0, 0);
    std::vector<float> out(static_cast<size_t>(t.batch * t.width));
    auto fwd = [&](const Tbe& u, int32_t device = DYNREC_DEVICE_CPU) {
        return dynrec_tbe_forward(device, nullptr, u.T(), u.rows.data(), u.dims.data(), u.offsets.data(), u.F(),
                                  u.field_table.data(), u.bags.data(), u.pooling.data(), u.weights.data(), u.numel,
                                  u.batch, u.ids.data(), out.data(), nullptr, 0);
    };
    ASSERT_EQ(fwd(t), DYNREC_OK) << dynrec_last_error();
    { Tbe u = t; u.pooling[1] = 7; EXPECT_TRUE(rejected_mentioning(fwd(u), "pooling[1]")); }
    { Tbe u = t; u.field_table[0] = 2; EXPECT_TRUE(rejected_mentioning(fwd(u), "field_table[0]")); }
    { Tbe u = t; u.bags[1] = 0; EXPECT_TRUE(rejected_mentioning(fwd(u), "bag_sizes[1]")); }
    { Tbe u = t; u.rows[1] = -1; EXPECT_TRUE(rejected_mentioning(fwd(u), "table_rows[1]")); }
    { Tbe u = t; u.dims[0] = 0; EXPECT_TRUE(rejected_mentioning(fwd(u), "table_dims[0]")); }
    { Tbe u = t; u.offsets[1] = 1; EXPECT_TRUE(rejected_mentioning(fwd(u), "overlap")); }
    { Tbe u = t; u.offsets[1] = u.numel - 1; EXPECT_TRUE(rejected_mentioning(fwd(u), "table_offsets[1]")); }
    { Tbe u = t; u.batch = 0; EXPECT_TRUE(rejected_mentioning(fwd(u), "batch")); }
    // A huge bag is rejected before the plan sizes anything by it (abi_fuzz.py found it taking hours).
    { Tbe u = t; u.bags[1] = int64_t(1) << 40; EXPECT_TRUE(rejected_mentioning(fwd(u), "bag_sizes[1]")); }
    { Tbe u = t; u.bags[0] = (int64_t(1) << 24) - 1; EXPECT_TRUE(rejected_mentioning(fwd(u), "2^24 id slots")); }
    { Tbe u = t; EXPECT_TRUE(rejected_mentioning(fwd(u, 5), "device")); }
    EXPECT_TRUE(rejected_mentioning(dynrec_tbe_forward(0, nullptr, t.T(), t.rows.data(), t.dims.data(), t.offsets.data(),
                                                   t.F(), t.field_table.data(), t.bags.data(), t.pooling.data(),
                                                   nullptr, t.numel, t.batch, t.ids.data(), out.data(), nullptr, 0),
                                "weights"));
    EXPECT_TRUE(rejected_mentioning(dynrec_tbe_forward(0, nullptr, t.T(), t.rows.data(), t.dims.data(), t.offsets.data(),
                                                   t.F(), t.field_table.data(), t.bags.data(), t.pooling.data(),
                                                   t.weights.data(), t.numel, t.batch, nullptr, out.data(), nullptr, 0),
                                "ids"));
    EXPECT_TRUE(rejected_mentioning(dynrec_tbe_forward(0, nullptr, t.T(), nullptr, t.dims.data(), t.offsets.data(), t.F(),
                                                   t.field_table.data(), t.bags.data(), t.pooling.data(),
                                                   t.weights.data(), t.numel, t.batch, t.ids.data(), out.data(),
                                                   nullptr, 0),
                                "table_rows"));
    EXPECT_TRUE(rejected_mentioning(dynrec_tbe_forward(0, nullptr, 0, t.rows.data(), t.dims.data(), t.offsets.data(), t.F(),
                                                   t.field_table.data(), t.bags.data(), t.pooling.data(),
                                                   t.weights.data(), t.numel, t.batch, t.ids.data(), out.data(),
                                                   nullptr, 0),
                                "num_tables"));
    const auto go = random_vector(t.batch * t.width, 1);
    std::vector<float> w = t.weights;
    OptState none;
    EXPECT_TRUE(rejected_mentioning(update(t, false, w, go, 9, none), "optimizer"));
    EXPECT_TRUE(rejected_mentioning(update(t, false, w, go, DYNREC_SPARSE_ROWWISE_ADAGRAD, none), "state1"));
    OptState adam = make_state(t, DYNREC_SPARSE_LAZY_ADAM, false);
    adam.s2.clear();
    EXPECT_TRUE(rejected_mentioning(update(t, false, w, go, DYNREC_SPARSE_LAZY_ADAM, adam), "state2"));
    adam = make_state(t, DYNREC_SPARSE_LAZY_ADAM, false);
    EXPECT_TRUE(rejected_mentioning(update(t, false, w, go, DYNREC_SPARSE_LAZY_ADAM, adam, 0), "step"));
    EXPECT_TRUE(rejected_mentioning(update(t, false, w, go, DYNREC_SPARSE_SGD, none, 1, NAN), "lr"));
    EXPECT_EQ(w, t.weights);
    int64_t bytes = -1;
    ASSERT_EQ(dynrec_tbe_workspace_size(0, t.T(), t.F(), t.bags.data(), t.batch, &bytes), DYNREC_OK);
    EXPECT_EQ(bytes, 0);
    EXPECT_TRUE(rejected_mentioning(dynrec_tbe_workspace_size(0, t.T(), t.F(), t.bags.data(), t.batch, nullptr), "bytes"));
    int64_t width = 0;
    EXPECT_TRUE(rejected_mentioning(
        dynrec_tbe_output_width(t.T(), t.dims.data(), t.F(), t.field_table.data(), t.bags.data(), nullptr, &width),
        "pooling"));
    int32_t gpus = 0;
    ASSERT_EQ(dynrec_cuda_device_count(&gpus), DYNREC_OK);
    if (gpus == 0) {
        EXPECT_TRUE(rejected_mentioning(fwd(t, DYNREC_DEVICE_CUDA), "device"));
    }
}

TEST(Tbe, UpdateIsBitwiseDeterministicAcrossThreadCounts) {
    Tbe t({{300, 16}, {40, 8}}, {{0, 6, DYNREC_POOLING_MEAN}, {1, 1, DYNREC_POOLING_SUM}}, 1000, 4, 0.1);
    const auto go = random_vector(t.batch * t.width, 8);
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2, 3}) {
        ASSERT_EQ(dynrec_set_num_threads(threads), DYNREC_OK);
        OptState s = make_state(t, DYNREC_SPARSE_LAZY_ADAM, false);
        std::vector<float> w = t.weights;
        ASSERT_EQ(update(t, false, w, go, DYNREC_SPARSE_LAZY_ADAM, s), DYNREC_OK) << dynrec_last_error();
        results.push_back(w);
    }
    ASSERT_EQ(dynrec_set_num_threads(0), DYNREC_OK);
    EXPECT_EQ(results[0], results[1]);
    EXPECT_EQ(results[0], results[2]);
}

TEST(Tbe, ConcurrentCallsGiveIdenticalResults) {
    Tbe t({{257, 9}, {33, 4}}, {{0, 3, DYNREC_POOLING_SUM}, {1, 2, DYNREC_POOLING_NONE}}, 129, 6, 0.1);
    const auto go = random_vector(t.batch * t.width, 9);
    std::vector<float> out0, w0 = t.weights;
    ASSERT_EQ(t.forward(false, out0), DYNREC_OK);
    OptState s0 = make_state(t, DYNREC_SPARSE_ROWWISE_ADAGRAD, false);
    ASSERT_EQ(update(t, false, w0, go, DYNREC_SPARSE_ROWWISE_ADAGRAD, s0), DYNREC_OK);
    std::vector<std::vector<float>> outs(4), ws(4);
    std::vector<std::thread> threads;
    for (int k = 0; k < 4; ++k)
        threads.emplace_back([&, k] {
            for (int rep = 0; rep < 3; ++rep) {
                EXPECT_EQ(t.forward(false, outs[k]), DYNREC_OK);
                OptState s = make_state(t, DYNREC_SPARSE_ROWWISE_ADAGRAD, false);
                ws[k] = t.weights;
                EXPECT_EQ(update(t, false, ws[k], go, DYNREC_SPARSE_ROWWISE_ADAGRAD, s), DYNREC_OK);
            }
        });
    for (auto& th : threads) th.join();
    for (int k = 0; k < 4; ++k) {
        EXPECT_EQ(outs[k], out0);
        EXPECT_EQ(ws[k], w0);
    }
}

// ---- Tables allocated apart (dynrec_tbe_tables_*): one pointer per table ----

namespace {

// The layout's tables copied into buffers of their own, plus gradient buffers per table.
struct Apart {
    std::vector<std::vector<float>> tables, grads;
    std::vector<const float*> table_ptrs;
    std::vector<float*> grad_ptrs;

    Apart(const Tbe& t, uint32_t grad_seed) {
        for (int64_t tb = 0; tb < t.T(); ++tb) {
            const auto first = t.weights.begin() + t.offsets[tb];
            tables.emplace_back(first, first + t.rows[tb] * t.dims[tb]);
            grads.push_back(grad_seed == 0 ? std::vector<float>(static_cast<size_t>(t.rows[tb] * t.dims[tb]), 0.0f)
                                           : random_vector(t.rows[tb] * t.dims[tb], grad_seed + uint32_t(tb)));
        }
        for (auto& v : tables) table_ptrs.push_back(v.data());
        for (auto& v : grads) grad_ptrs.push_back(v.data());
    }
};

dynrec_status tables_forward(const Tbe& t, const Apart& a, bool reference, std::vector<float>& out) {
    out.assign(static_cast<size_t>(t.batch * t.width), -7.0f);
    return reference ? dynrec_tbe_tables_forward_reference(t.T(), t.rows.data(), t.dims.data(), a.table_ptrs.data(),
                                                           t.F(), t.field_table.data(), t.bags.data(), t.pooling.data(),
                                                           t.batch, t.ids.data(), out.data())
                     : dynrec_tbe_tables_forward(DYNREC_DEVICE_CPU, nullptr, t.T(), t.rows.data(), t.dims.data(),
                                                 a.table_ptrs.data(), t.F(), t.field_table.data(), t.bags.data(),
                                                 t.pooling.data(), t.batch, t.ids.data(), out.data(), nullptr, 0);
}

dynrec_status tables_backward(const Tbe& t, Apart& a, bool reference, const std::vector<float>& grad_out) {
    return reference ? dynrec_tbe_tables_backward_reference(t.T(), t.rows.data(), t.dims.data(), t.F(),
                                                            t.field_table.data(), t.bags.data(), t.pooling.data(),
                                                            t.batch, t.ids.data(), grad_out.data(), a.grad_ptrs.data())
                     : dynrec_tbe_tables_backward(DYNREC_DEVICE_CPU, nullptr, t.T(), t.rows.data(), t.dims.data(),
                                                  t.F(), t.field_table.data(), t.bags.data(), t.pooling.data(),
                                                  t.batch, t.ids.data(), grad_out.data(), a.grad_ptrs.data(), nullptr,
                                                  0);
}

}  // namespace

TEST(TbeTables, ForwardEqualsTheOneBufferLookupAndTheReference) {
    for (const Tbe& t : odd_layouts(41)) {
        SCOPED_TRACE("batch " + std::to_string(t.batch));
        // With zero padding rows the two layouts agree everywhere (the one-buffer TBE reads padding as zeros).
        Tbe zero_pad = t;
        for (int64_t tb = 0; tb < t.T(); ++tb)
            std::fill_n(zero_pad.weights.begin() + t.offsets[tb], t.dims[tb], 0.0f);
        const Apart a(zero_pad, 0);
        std::vector<float> one, ref, opt;
        ASSERT_EQ(zero_pad.forward(false, one), DYNREC_OK) << dynrec_last_error();
        ASSERT_EQ(tables_forward(zero_pad, a, true, ref), DYNREC_OK) << dynrec_last_error();
        ASSERT_EQ(tables_forward(zero_pad, a, false, opt), DYNREC_OK) << dynrec_last_error();
        EXPECT_EQ(opt, one);
        EXPECT_EQ(ref, one);
        // With the random padding rows: optimized = reference.
        const Apart b(t, 0);
        ASSERT_EQ(tables_forward(t, b, true, ref), DYNREC_OK) << dynrec_last_error();
        ASSERT_EQ(tables_forward(t, b, false, opt), DYNREC_OK) << dynrec_last_error();
        EXPECT_EQ(opt, ref);
    }
}

TEST(TbeTables, UnpooledPaddingReadsRowZeroAsNnEmbeddingPooledSkipsIt) {
    // One table of 4 rows x 2 whose padding row is (-1, -2); sum, mean and none over bags of 3.
    Tbe t({{4, 2}}, {{0, 3, DYNREC_POOLING_SUM}, {0, 3, DYNREC_POOLING_MEAN}, {0, 3, DYNREC_POOLING_NONE}}, 1, 1, 0.0,
          0);
    t.weights = {-1, -2, 3, 4, 5, 6, 7, 8};
    t.ids = {1, 3, 0, /**/ 1, 3, 0, /**/ 2, 0, 3};
    const Apart a(t, 0);
    const std::vector<float> expected = {3 + 7, 4 + 8, (3 + 7) / 2.f, (4 + 8) / 2.f, 5, 6, -1, -2, 7, 8};
    for (bool reference : {true, false}) {
        std::vector<float> out;
        ASSERT_EQ(tables_forward(t, a, reference, out), DYNREC_OK) << dynrec_last_error();
        EXPECT_TRUE(all_close(out, expected, 0.0f, 0.0f)) << (reference ? "reference" : "optimized");
    }
}

TEST(TbeTables, BackwardAddsTheReferenceGradientAndLeavesOtherRowsAlone) {
    for (const Tbe& t : odd_layouts(43)) {
        const auto go = random_vector(t.batch * t.width, 44);
        const std::set<int64_t> touched = touched_rows(t);
        for (int threads : {1, 3}) {
            SCOPED_TRACE("batch " + std::to_string(t.batch) + ", " + std::to_string(threads) + " threads");
            ASSERT_EQ(dynrec_set_num_threads(threads), DYNREC_OK);
            Apart ref(t, 45), opt(t, 45);
            const Apart before(t, 45);
            ASSERT_EQ(tables_backward(t, ref, true, go), DYNREC_OK) << dynrec_last_error();
            ASSERT_EQ(tables_backward(t, opt, false, go), DYNREC_OK) << dynrec_last_error();
            int64_t base = 0, changed = 0;
            for (int64_t tb = 0; tb < t.T(); ++tb) {
                EXPECT_EQ(opt.grads[tb], ref.grads[tb]) << "table " << tb;  // same sums, same order: bitwise
                for (int64_t r = 0; r < t.rows[tb]; ++r) {
                    const bool same = std::memcmp(&opt.grads[tb][r * t.dims[tb]], &before.grads[tb][r * t.dims[tb]],
                                                  sizeof(float) * t.dims[tb]) == 0;
                    if (!touched.count(base + r)) {
                        EXPECT_TRUE(same) << "untouched row " << r << " of table " << tb;
                    }
                    changed += !same;
                }
                base += t.rows[tb];
            }
            EXPECT_GT(changed, 0);
        }
    }
    ASSERT_EQ(dynrec_set_num_threads(0), DYNREC_OK);
}

TEST(TbeTables, BackwardFromZeroIsTheGradientOfTheForward) {
    // Against finite differences of the tables lookup, and against the fused SGD step (lr = 1 writes w - g).
    Tbe t({{7, 3}, {5, 4}},
          {{0, 2, DYNREC_POOLING_SUM}, {1, 3, DYNREC_POOLING_MEAN}, {0, 2, DYNREC_POOLING_NONE}}, 5, 19, 0.25, 0);
    const auto probe = random_vector(t.batch * t.width, 32);
    Apart a(t, 0);
    ASSERT_EQ(tables_backward(t, a, false, probe), DYNREC_OK) << dynrec_last_error();
    std::vector<float> grad;
    for (const auto& g : a.grads) grad.insert(grad.end(), g.begin(), g.end());
    Tbe probe_t = t;
    auto loss = [&] {
        std::vector<float> out;
        EXPECT_EQ(tables_forward(probe_t, Apart(probe_t, 0), false, out), DYNREC_OK);
        return dot(out, probe);
    };
    // The padding row gets no gradient by definition (nn.Embedding's padding_idx), although a NONE slot reads it:
    // compare the other rows with finite differences, and the padding rows with zero.
    std::vector<FdSample> fd;
    for (const FdSample& f : finite_difference(probe_t.weights, loss, 1e-2, 200)) {
        const bool padding = f.index < t.dims[0] || (f.index >= t.offsets[1] && f.index < t.offsets[1] + t.dims[1]);
        if (padding) {
            EXPECT_EQ(grad[f.index], 0.0f) << "padding element " << f.index;
        } else {
            fd.push_back(f);
        }
    }
    EXPECT_EQ(fd.size(), size_t(7 * 3 + 5 * 4 - 3 - 4));  // every element but the two padding rows
    EXPECT_TRUE(matches_finite_difference(grad, fd, 1e-3, 1e-2));
    OptState none;
    std::vector<float> w = t.weights;
    ASSERT_EQ(update(t, false, w, probe, DYNREC_SPARSE_SGD, none, 1, 1.0f), DYNREC_OK) << dynrec_last_error();
    // w - (w - g) rounds at the scale of w, not of g.
    for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(t.weights[i] - w[i], grad[i], 1e-6) << "element " << i;
}

TEST(TbeTables, ValidationNamesTheTablePointerAndOverlap) {
    Tbe t({{5, 2}, {9, 3}, {4, 2}}, {{0, 1, DYNREC_POOLING_SUM}, {1, 2, DYNREC_POOLING_MEAN}, {2, 1, DYNREC_POOLING_SUM}},
          4, 1, 0.0, 0);
    const auto go = random_vector(t.batch * t.width, 2);
    std::vector<float> out;
    Apart a(t, 0);
    a.table_ptrs[1] = nullptr;
    EXPECT_TRUE(rejected_mentioning(tables_forward(t, a, false, out), "tables[1]"));
    EXPECT_TRUE(rejected_mentioning(tables_forward(t, a, true, out), "tables[1]"));
    Apart b(t, 0);
    b.grad_ptrs[2] = nullptr;
    EXPECT_TRUE(rejected_mentioning(tables_backward(t, b, false, go), "grad_tables[2]"));
    // Table 2's gradient starts inside table 0's: rows would be written twice at once.
    Apart c(t, 0);
    std::vector<float> shared(100, 0.0f);
    c.grad_ptrs[0] = shared.data();
    c.grad_ptrs[2] = shared.data() + 9;  // table 0 is 5 x 2 = 10 floats
    c.grad_ptrs[1] = shared.data() + 10;
    EXPECT_TRUE(rejected_mentioning(tables_backward(t, c, false, go), "grad_tables: tables 0 and 2 overlap"));
    EXPECT_TRUE(rejected_mentioning(tables_backward(t, c, true, go), "overlap"));
    EXPECT_EQ(shared, std::vector<float>(100, 0.0f));
    c.grad_ptrs[2] = shared.data() + 40;  // back to back is fine
    EXPECT_EQ(tables_backward(t, c, false, go), DYNREC_OK) << dynrec_last_error();
    // An id outside its table is named before anything is written.
    Tbe u = t;
    u.ids[3 * u.slots + 1] = 9;  // sample 3, field 1 (table 1), slot 0
    Apart d(u, 0);
    EXPECT_TRUE(rejected_mentioning(tables_forward(u, d, false, out), "field 1 (table 1)"));
    EXPECT_TRUE(rejected_mentioning(tables_backward(u, d, false, go), "sample 3, slot 0"));
    for (const auto& g : d.grads) EXPECT_EQ(g, std::vector<float>(g.size(), 0.0f));
    int32_t gpus = 0;
    ASSERT_EQ(dynrec_cuda_device_count(&gpus), DYNREC_OK);
    if (gpus == 0) {
        EXPECT_TRUE(rejected_mentioning(
            dynrec_tbe_tables_forward(DYNREC_DEVICE_CUDA, nullptr, t.T(), t.rows.data(), t.dims.data(),
                                      a.table_ptrs.data(), t.F(), t.field_table.data(), t.bags.data(),
                                      t.pooling.data(), t.batch, t.ids.data(), out.data(), nullptr, 0),
            "device"));
    }
}

TEST(TbeTables, BackwardSplitsByTablesOrByRowsWithTheSameBits) {
    // Twelve tables of similar weight (split by tables across threads) and a layout where one table
    // dominates (split by rows through the sorted segments): the reference's bits at 1, 2 and 3 threads.
    std::vector<std::pair<int64_t, int64_t>> many;
    std::vector<Field> many_fields;
    for (int64_t t = 0; t < 12; ++t) {
        many.emplace_back(7 + 5 * t, 3 + t % 4);
        many_fields.push_back({t, 1 + t % 3, t % 3 == 0 ? DYNREC_POOLING_MEAN : t % 3 == 1 ? DYNREC_POOLING_NONE
                                                                                               : DYNREC_POOLING_SUM});
    }
    many_fields.push_back({4, 5, DYNREC_POOLING_NONE});  // a second field over table 4
    const Tbe balanced(many, many_fields, 257, 71, 0.15);
    const Tbe dominated({{3000, 9}, {4, 2}}, {{0, 9, DYNREC_POOLING_SUM}, {1, 1, DYNREC_POOLING_SUM}}, 131, 72, 0.1);
    for (const Tbe* t : {&balanced, &dominated}) {
        const auto go = random_vector(t->batch * t->width, 73);
        Apart ref(*t, 74);
        ASSERT_EQ(tables_backward(*t, ref, true, go), DYNREC_OK) << dynrec_last_error();
        for (int threads : {1, 2, 3}) {
            SCOPED_TRACE(std::to_string(t->T()) + " tables, " + std::to_string(threads) + " threads");
            ASSERT_EQ(dynrec_set_num_threads(threads), DYNREC_OK);
            Apart opt(*t, 74);
            ASSERT_EQ(tables_backward(*t, opt, false, go), DYNREC_OK) << dynrec_last_error();
            for (int64_t tb = 0; tb < t->T(); ++tb) EXPECT_EQ(opt.grads[tb], ref.grads[tb]) << "table " << tb;
        }
    }
    ASSERT_EQ(dynrec_set_num_threads(0), DYNREC_OK);
}
