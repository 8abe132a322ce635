#include "test_util.h"

#include <cmath>
#include <random>
#include <sstream>
#include <string>

#include "dynrec/dynrec.h"

namespace dynrec_test {

std::vector<float> random_vector(int64_t n, uint32_t seed, float lo, float hi) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = dist(rng);
    return v;
}

::testing::AssertionResult all_close(const std::vector<float>& actual, const std::vector<float>& expected,
                                     float atol, float rtol) {
    if (actual.size() != expected.size())
        return ::testing::AssertionFailure() << "size " << actual.size() << " != " << expected.size();
    size_t worst = 0;
    double worst_excess = -1.0;
    for (size_t i = 0; i < actual.size(); ++i) {
        const double err = std::fabs(double(actual[i]) - expected[i]);
        const double tol = atol + rtol * std::fabs(double(expected[i]));
        if (!std::isfinite(actual[i]) || err - tol > worst_excess) {
            worst_excess = std::isfinite(actual[i]) ? err - tol : 1e30;
            worst = i;
        }
    }
    if (worst_excess > 0.0)
        return ::testing::AssertionFailure() << "mismatch at " << worst << ": " << actual[worst] << " vs "
                                             << expected[worst] << " (atol " << atol << ", rtol " << rtol << ")";
    return ::testing::AssertionSuccess();
}

std::vector<FdSample> finite_difference(std::vector<float>& param, const std::function<double()>& loss, double eps,
                                        int64_t max_entries) {
    const int64_t n = static_cast<int64_t>(param.size());
    const int64_t stride = n > max_entries ? n / max_entries : 1;
    std::vector<FdSample> out;
    for (int64_t k = 0; k < n; k += stride) {
        const float orig = param[k];
        param[k] = float(orig + eps);
        const double up = loss();
        param[k] = float(orig - eps);
        const double down = loss();
        param[k] = orig;
        out.push_back({k, (up - down) / (2.0 * eps)});
    }
    return out;
}

::testing::AssertionResult matches_finite_difference(const std::vector<float>& analytic,
                                                     const std::vector<FdSample>& fd, double atol, double rtol) {
    for (const auto& s : fd) {
        const double a = analytic.at(static_cast<size_t>(s.index));
        if (std::fabs(a - s.grad) > atol + rtol * std::fabs(s.grad))
            return ::testing::AssertionFailure() << "gradient entry " << s.index << ": analytic " << a
                                                 << " vs finite difference " << s.grad;
    }
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult rejected_naming(int status, const char* argument) {
    if (status != DYNREC_ERR_INVALID_ARGUMENT)
        return ::testing::AssertionFailure() << "status " << status << " (expected INVALID_ARGUMENT) for " << argument;
    // Messages read "<export>: <argument>: ..." or "<export>: <argument> [dims]: ...".
    const std::string msg = dynrec_last_error(), key = std::string(": ") + argument;
    for (size_t at = msg.find(key); at != std::string::npos; at = msg.find(key, at + 1)) {
        const size_t next = at + key.size();
        if (next < msg.size() && (msg[next] == ':' || msg[next] == ' ')) return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "message '" << msg << "' does not name " << argument;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0.0;
    for (size_t i = 0; i < a.size() && i < b.size(); ++i) s += double(a[i]) * b[i];
    return s;
}

}  // namespace dynrec_test
