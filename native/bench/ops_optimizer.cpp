// Multi-tensor Adam cases over PEPNet-like dense parameters: 3 towers of
// [128,672],[64,128],[1,64] (+ biases), an EPNet gate [128,40]->[672,128],
// and per tower three PPNet gates [128,696]->[n,128] (+ biases): 58 tensors.
#include <memory>
#include <utility>

#include "bench.h"
#include "dynrec/dynrec.h"

namespace dynrec_bench {

namespace {
std::vector<int64_t> pepnet_like_numels() {
    std::vector<int64_t> n;
    n.insert(n.end(), {128 * 40, 128, 672 * 128, 672});  // EPNet gate
    for (int tower = 0; tower < 3; ++tower) {
        n.insert(n.end(), {128 * 672, 128, 64 * 128, 64, 1 * 64, 1});  // tower layers
        for (int64_t out : {672, 128, 64})
            n.insert(n.end(), {128 * 696, 128, out * 128, out});  // PPNet gate per layer
    }
    return n;
}

struct AdamBuffers {
    std::vector<int64_t> numels;
    std::vector<std::vector<float>> p, g, m, v;
    std::vector<float*> pp, mp, vp;
    std::vector<const float*> gp;
    int64_t step = 0;
    explicit AdamBuffers(std::vector<int64_t> n) : numels(std::move(n)) {
        for (size_t i = 0; i < numels.size(); ++i) {
            p.push_back(random_buffer(numels[i], uint32_t(i)));
            g.push_back(random_buffer(numels[i], uint32_t(i) + 100));
            m.emplace_back(numels[i]);
            v.emplace_back(numels[i]);
        }
        for (size_t i = 0; i < numels.size(); ++i) {
            pp.push_back(p[i].data());
            gp.push_back(g[i].data());
            mp.push_back(m[i].data());
            vp.push_back(v[i].data());
        }
    }
    void run(bool reference) {
        ++step;
        const int64_t n = static_cast<int64_t>(numels.size());
        if (reference)
            check(dynrec_adam_step_reference(n, pp.data(), gp.data(), mp.data(), vp.data(), numels.data(), 1e-3, 0.9,
                                             0.999, 1e-8, 0.01, 1, step, 1.0, nullptr));
        else
            check(dynrec_adam_step(DYNREC_DEVICE_CPU, nullptr, n, pp.data(), gp.data(), mp.data(), vp.data(),
                                   numels.data(), 1e-3, 0.9, 0.999, 1e-8, 0.01, 1, step, 1.0, nullptr, nullptr, 0));
    }
};
}  // namespace

void add_optimizer_cases(std::vector<Case>& cases, bool quick) {
    std::vector<int64_t> numels = pepnet_like_numels();
    if (quick) numels.resize(8);
    int64_t total = 0;
    for (int64_t x : numels) total += x;
    auto buf = std::make_shared<AdamBuffers>(numels);
    cases.push_back({"adamw multi-tensor +clip", std::to_string(numels.size()) + " tensors, " +
                                                     std::to_string(total) + " elements",
                     14.0 * double(total), [buf] { buf->run(true); }, [buf] { buf->run(false); }});
}

}  // namespace dynrec_bench
