// dropout: Philox4x32-10 against Random123's known answers, the optimized
// kernel against the reference loop bit for bit (odd lengths, any thread
// count, in place), the mask's statistics and its independence of n, backward
// (the same call on the gradient) against finite differences, validation.
#include <cmath>
#include <cstring>
#include <limits>

#include "common/philox.h"
#include "dynrec/dynrec.h"
#include "test_util.h"

using namespace dynrec_test;

namespace {

std::vector<float> run(int64_t n, float p, uint64_t seed, const std::vector<float>& in, bool reference) {
    std::vector<float> out(static_cast<size_t>(n), -7.0f);
    const dynrec_status st = reference ? dynrec_dropout_reference(n, p, seed, in.data(), out.data())
                                       : dynrec_dropout(DYNREC_DEVICE_CPU, nullptr, n, p, seed, in.data(), out.data());
    EXPECT_EQ(st, DYNREC_OK) << dynrec_last_error();
    return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

// Random123's kat_vectors for philox4x32_10.
TEST(Dropout, PhiloxMatchesTheKnownAnswers) {
    struct Kat {
        uint32_t ctr[4], key[2], want[4];
    };
    const Kat kats[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}},
        {{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
         {0xffffffffu, 0xffffffffu},
         {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}},
        {{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
         {0xa4093822u, 0x299f31d0u},
         {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}},
    };
    for (const Kat& k : kats) {
        const dynrec::Philox4 r = dynrec::philox4x32_10(k.ctr[0], k.ctr[1], k.ctr[2], k.ctr[3], k.key[0], k.key[1]);
        for (int w = 0; w < 4; ++w) EXPECT_EQ(r.v[w], k.want[w]) << "word " << w;
    }
}

TEST(Dropout, OptimizedMatchesReferenceBitForBitOnOddLengths) {
    for (int threads : {1, 2, 3}) {
        ASSERT_EQ(dynrec_set_num_threads(threads), DYNREC_OK);
        for (int64_t n : {int64_t(1), int64_t(3), int64_t(63), int64_t(64), int64_t(65), int64_t(1001),
                          int64_t(64 * 256 + 5), int64_t(100003)}) {
            for (float p : {0.0f, 0.1f, 0.37f, 0.5f, 0.999f, 1.0f}) {
                SCOPED_TRACE("threads " + std::to_string(threads) + " n " + std::to_string(n) + " p " +
                             std::to_string(p));
                const auto in = random_vector(n, static_cast<uint32_t>(n));
                const uint64_t seed = 0xDEADBEEF12345678ull + static_cast<uint64_t>(n);
                const auto ref = run(n, p, seed, in, true);
                EXPECT_TRUE(same_bits(run(n, p, seed, in, false), ref));
                auto inplace = in;
                ASSERT_EQ(dynrec_dropout(DYNREC_DEVICE_CPU, nullptr, n, p, seed, inplace.data(), inplace.data()),
                          DYNREC_OK);
                EXPECT_TRUE(same_bits(inplace, ref)) << "in place";
            }
        }
    }
    ASSERT_EQ(dynrec_set_num_threads(0), DYNREC_OK);
}

TEST(Dropout, KeepsAboutOneMinusPAndScalesTheKeptValues) {
    const int64_t n = 1 << 20;
    const auto in = random_vector(n, 11, 0.5f, 1.5f);  // never 0: a zero output means dropped
    for (float p : {0.1f, 0.5f, 0.9f}) {
        const auto out = run(n, p, 2024, in, false);
        const float scale = static_cast<float>(1.0 / (1.0 - double(p)));
        int64_t kept = 0;
        bool values_ok = true;
        for (int64_t i = 0; i < n; ++i) {
            if (out[i] != 0.0f) {
                ++kept;
                values_ok = values_ok && out[i] == in[i] * scale;
            }
        }
        EXPECT_TRUE(values_ok) << "kept values are in * 1 / (1 - p)";
        // Binomial(n, 1 - p): 6 standard deviations.
        const double mean = double(n) * (1.0 - p), sd = std::sqrt(double(n) * p * (1.0 - p));
        EXPECT_NEAR(double(kept), mean, 6.0 * sd) << "p " << p;
    }
}

TEST(Dropout, MaskDependsOnlyOnSeedAndElement) {
    const auto in = random_vector(1000, 5, 0.5f, 1.5f);
    const auto whole = run(1000, 0.5f, 77, in, false);
    const std::vector<float> head(in.begin(), in.begin() + 129);
    const auto prefix = run(129, 0.5f, 77, head, false);
    EXPECT_TRUE(same_bits(prefix, std::vector<float>(whole.begin(), whole.begin() + 129))) << "independent of n";
    EXPECT_TRUE(same_bits(run(1000, 0.5f, 77, in, false), whole)) << "same seed, same mask";
    const auto other = run(1000, 0.5f, 78, in, false);
    int64_t differ = 0;
    for (size_t i = 0; i < in.size(); ++i) differ += (whole[i] == 0.0f) != (other[i] == 0.0f);
    EXPECT_GT(differ, 400) << "another seed, another mask (~500 of 1000 expected to differ)";
    // Seeds differing only in their high 32 bits give other masks too.
    const auto high = run(1000, 0.5f, 77 + (uint64_t(1) << 32), in, false);
    differ = 0;
    for (size_t i = 0; i < in.size(); ++i) differ += (whole[i] == 0.0f) != (high[i] == 0.0f);
    EXPECT_GT(differ, 400);
}

TEST(Dropout, ZeroAndOneAndNonFiniteInputs) {
    const auto in = random_vector(257, 3);
    EXPECT_TRUE(same_bits(run(257, 0.0f, 1, in, false), in)) << "p = 0 is the identity";
    const auto none = run(257, 1.0f, 1, in, false);
    for (float v : none) EXPECT_EQ(v, 0.0f);
    // As torch's input * mask * scale: a dropped NaN stays NaN, a kept inf stays inf.
    std::vector<float> odd(64, std::numeric_limits<float>::quiet_NaN());
    for (float v : run(64, 0.5f, 9, odd, false)) EXPECT_TRUE(std::isnan(v));
    std::vector<float> inf(64, std::numeric_limits<float>::infinity());
    int64_t infinite = 0;
    for (float v : run(64, 0.5f, 9, inf, false)) infinite += std::isinf(v);
    EXPECT_GT(infinite, 0);
}

// out = m * in with m the (seed-fixed) multipliers: the gradient of
// L = probe . out with respect to in is the same call on probe.
TEST(Dropout, BackwardIsTheSameCallOnTheGradientAndMatchesFiniteDifferences) {
    auto x = random_vector(37, 21);
    const auto probe = random_vector(37, 22);
    const auto grad = run(37, 0.3f, 555, probe, false);
    auto loss = [&] { return dot(run(37, 0.3f, 555, x, true), probe); };
    EXPECT_TRUE(matches_finite_difference(grad, finite_difference(x, loss), 1e-3, 1e-2));
}

TEST(Dropout, ValidationNamesTheOffendingArgument) {
    std::vector<float> a(16, 1.0f), b(16);
    EXPECT_TRUE(rejected_naming(dynrec_dropout(0, nullptr, 16, -0.1f, 1, a.data(), b.data()), "p"));
    EXPECT_TRUE(rejected_naming(dynrec_dropout(0, nullptr, 16, 1.5f, 1, a.data(), b.data()), "p"));
    EXPECT_TRUE(rejected_naming(dynrec_dropout(0, nullptr, 16, NAN, 1, a.data(), b.data()), "p"));
    EXPECT_TRUE(rejected_naming(dynrec_dropout(0, nullptr, -1, 0.5f, 1, a.data(), b.data()), "n"));
    EXPECT_TRUE(rejected_naming(dynrec_dropout(0, nullptr, 16, 0.5f, 1, nullptr, b.data()), "in"));
    EXPECT_TRUE(rejected_naming(dynrec_dropout(0, nullptr, 16, 0.5f, 1, a.data(), nullptr), "out"));
    EXPECT_TRUE(rejected_naming(dynrec_dropout(0, nullptr, 8, 0.5f, 1, a.data(), a.data() + 3), "out"));
    EXPECT_TRUE(rejected_naming(dynrec_dropout(5, nullptr, 16, 0.5f, 1, a.data(), b.data()), "device"));
    EXPECT_TRUE(rejected_naming(dynrec_dropout_reference(16, 2.0f, 1, a.data(), b.data()), "p"));
    EXPECT_EQ(dynrec_dropout(0, nullptr, 0, 0.5f, 1, nullptr, nullptr), DYNREC_OK) << "n = 0 is a no-op";
    EXPECT_EQ(dynrec_dropout(0, nullptr, 8, 0.5f, 1, a.data(), a.data() + 8), DYNREC_OK) << "adjacent, not overlapping";
    int32_t gpus = 0;
    ASSERT_EQ(dynrec_cuda_device_count(&gpus), DYNREC_OK);
    if (gpus == 0) {
        EXPECT_TRUE(rejected_naming(dynrec_dropout(DYNREC_DEVICE_CUDA, nullptr, 16, 0.5f, 1, a.data(), b.data()),
                                    "device"));
    }
}
