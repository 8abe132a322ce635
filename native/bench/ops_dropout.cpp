// dropout benchmark case: PPNet's first tower layer output (T=3, B=2048, 128),
// forward and backward (the same call on the gradient), p = 0.1 (FunRec).
#include <memory>

#include "bench.h"
#include "dynrec/dynrec.h"

namespace dynrec_bench {

namespace {
struct DropoutBuffers {
    int64_t n;
    std::vector<float> x, y, gy, gx;
    uint64_t seed = 2024;
    explicit DropoutBuffers(int64_t n_) : n(n_), x(random_buffer(n, 1)), y(n), gy(random_buffer(n, 2)), gx(n) {}
    void run(bool reference) {
        ++seed;  // a fresh mask each call, as in training
        if (reference) {
            check(dynrec_dropout_reference(n, 0.1f, seed, x.data(), y.data()));
            check(dynrec_dropout_reference(n, 0.1f, seed, gy.data(), gx.data()));
        } else {
            check(dynrec_dropout(DYNREC_DEVICE_CPU, nullptr, n, 0.1f, seed, x.data(), y.data()));
            check(dynrec_dropout(DYNREC_DEVICE_CPU, nullptr, n, 0.1f, seed, gy.data(), gx.data()));
        }
    }
};
}  // namespace

void add_dropout_cases(std::vector<Case>& cases, bool quick) {
    const int64_t towers = 3, batch = quick ? 257 : 2048, units = quick ? 16 : 128;
    auto buf = std::make_shared<DropoutBuffers>(towers * batch * units);
    cases.push_back({"dropout fwd+bwd",
                     "p=0.1, " + std::to_string(towers) + " x " + std::to_string(batch) + " x " + std::to_string(units),
                     0.0,
                     [buf] { buf->run(true); }, [buf] { buf->run(false); }});
}

}  // namespace dynrec_bench
