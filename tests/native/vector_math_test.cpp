// The vectorized sigmoid of the optimized kernels against std::exp: relative
// error over the whole float range that matters, bias and gamma applied, the
// edges (saturation, infinities, NaN) and lengths off the vector widths.
// Compiled from the library's source (the library exports only the C ABI).
#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "cpu/vector_math.h"

namespace {

using dynrec::cpu::scaled_sigmoid;
using dynrec::cpu::scaled_sigmoid_reference;

TEST(ScaledSigmoid, MatchesStdExpToTwoUlpsOverTheRange) {
    std::vector<float> x;
    for (float v = -90.0f; v <= 90.0f; v += 0.00137f) x.push_back(v);
    for (float gamma : {1.0f, 2.0f, 0.5f}) {
        auto got = x;
        std::vector<float> want(x.size());
        scaled_sigmoid(got.data(), nullptr, gamma, static_cast<int64_t>(got.size()));
        scaled_sigmoid_reference(x.data(), gamma, want.data(), static_cast<int64_t>(x.size()));
        for (size_t i = 0; i < x.size(); ++i) {
            if (want[i] < 1e-37f) {  // below the clamp: both are (sub)normal dust
                ASSERT_LT(got[i], 1e-36f) << "x=" << x[i];
                continue;
            }
            ASSERT_NEAR(got[i], want[i], 2.5e-7f * want[i]) << "x=" << x[i] << " gamma=" << gamma;
        }
    }
}

TEST(ScaledSigmoid, AddsTheBiasFirst) {
    for (int64_t n : {1, 7, 16, 17, 33, 100}) {
        std::vector<float> v(n), bias(n), want(n);
        for (int64_t j = 0; j < n; ++j) {
            v[j] = 0.37f * static_cast<float>(j) - 5.0f;
            bias[j] = 0.11f * static_cast<float>(j % 5) - 0.2f;
        }
        std::vector<float> pre(n);
        for (int64_t j = 0; j < n; ++j) pre[j] = v[j] + bias[j];
        scaled_sigmoid_reference(pre.data(), 2.0f, want.data(), n);
        scaled_sigmoid(v.data(), bias.data(), 2.0f, n);
        for (int64_t j = 0; j < n; ++j) EXPECT_NEAR(v[j], want[j], 5e-7f * want[j]) << "n=" << n << " j=" << j;
    }
}

TEST(ScaledSigmoid, SaturatesAndPropagatesNaN) {
    const float inf = std::numeric_limits<float>::infinity();
    std::vector<float> v = {inf, -inf, 1e30f, -1e30f, std::numeric_limits<float>::quiet_NaN(), 0.0f};
    scaled_sigmoid(v.data(), nullptr, 2.0f, static_cast<int64_t>(v.size()));
    EXPECT_EQ(v[0], 2.0f);
    EXPECT_LT(v[1], 1e-37f);
    EXPECT_GE(v[1], 0.0f);
    EXPECT_EQ(v[2], 2.0f);
    EXPECT_LT(v[3], 1e-37f);
    EXPECT_TRUE(std::isnan(v[4]));
    EXPECT_EQ(v[5], 1.0f);
}

}  // namespace
