// Self-test of dropout: the optimized kernel (CPU or CUDA) against the reference
// loop, bit for bit (the mask is a pure function of (seed, element); see
// dynrec_dropout), out of place and in place, on lengths with and without a
// partial last Philox block.
#include <cstring>
#include <string>

#include "selftest/harness.h"

namespace dynrec::selftest {

namespace {
bool same_bits(const Host& a, const Host& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
}  // namespace

void check_dropout(Runner& r) {
    const int32_t dev = r.device();
    for (int64_t n : {int64_t(1), int64_t(63), int64_t(4099), int64_t(100003)}) {
        for (float p : {0.0f, 0.1f, 0.5f, 1.0f}) {
            const std::string label = "dropout n=" + std::to_string(n) + " p=" + std::to_string(p);
            r.run(label, [&](Case& c) {
                const uint64_t seed = 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(n);
                const Host in = random_values(n, static_cast<uint32_t>(n) + 7);
                Host want(static_cast<size_t>(n));
                c.call(dynrec_dropout_reference(n, p, seed, in.data(), want.data()), "dynrec_dropout_reference");

                float* d_in = c.buf.put(in);
                float* d_out = c.buf.out(n);
                c.call(dynrec_dropout(dev, nullptr, n, p, seed, d_in, d_out), "dynrec_dropout");
                c.expect("bit-identical", same_bits(c.buf.get(d_out, n), want));
                c.call(dynrec_dropout(dev, nullptr, n, p, seed, d_in, d_in), "dynrec_dropout (in place)");
                c.expect("in place", same_bits(c.buf.get(d_in, n), want));
            });
        }
    }
}

}  // namespace dynrec::selftest
