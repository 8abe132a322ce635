// Helpers shared by the native tests: seeded random buffers, tolerance
// comparison with a readable failure, central finite differences.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace dynrec_test {

std::vector<float> random_vector(int64_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// |a - b| <= atol + rtol * |b| element-wise; reports the worst index.
::testing::AssertionResult all_close(const std::vector<float>& actual, const std::vector<float>& expected,
                                     float atol, float rtol);

// d(loss)/d(param[k]) by central differences, loss evaluated in double.
// `loss` reads `param` (which the helper perturbs in place and restores).
struct FdSample {
    int64_t index;
    double grad;
};
std::vector<FdSample> finite_difference(std::vector<float>& param, const std::function<double()>& loss,
                                        double eps = 1e-3, int64_t max_entries = 48);

// Checks analytic gradient entries against finite-difference samples with
// |a - fd| <= atol + rtol * |fd|.
::testing::AssertionResult matches_finite_difference(const std::vector<float>& analytic,
                                                     const std::vector<FdSample>& fd, double atol, double rtol);

// Dot product in double, for "loss = sum(out * seed)" style probes.
double dot(const std::vector<float>& a, const std::vector<float>& b);

// The call failed with DYNREC_ERR_INVALID_ARGUMENT and dynrec_last_error()
// names `argument`.
::testing::AssertionResult rejected_naming(int status, const char* argument);

// The odd batch sizes every op is checked on.
inline const std::vector<int64_t>& odd_batches() {
    static const std::vector<int64_t> b{1, 7, 33, 1000};
    return b;
}

}  // namespace dynrec_test
