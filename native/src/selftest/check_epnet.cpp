// Self-test of epnet (EPNet: out = delta * E, delta = gate_nu(concat(domain, sg(E)))).
#include <cmath>
#include <string>

#include "selftest/harness.h"

namespace dynrec::selftest {

namespace {
constexpr Tolerance kTol{2e-5, 5e-3};

struct Dims {
    int64_t domain, emb, hidden;
};
}  // namespace

void check_epnet(Runner& r) {
    const int32_t dev = r.device();
    for (Dims d : {Dims{5, 24, 17}, Dims{9, 67, 65}}) {
        for (int64_t rows : test_rows()) {
            for (int bias = 1; bias >= 0; --bias) {
                if (!bias && rows != 33) continue;
                const std::string label = "epnet rows=" + std::to_string(rows) + " domain=" + std::to_string(d.domain) +
                                          " emb=" + std::to_string(d.emb) + " hidden=" + std::to_string(d.hidden) +
                                          (bias ? "" : " no-bias");
                r.run(label, [&](Case& c) {
                    const uint32_t seed = static_cast<uint32_t>(rows * 389 + d.emb + bias);
                    const int64_t n_gin = d.domain + d.emb;
                    const float gamma = 2.0f;
                    Host dom = random_values(rows * d.domain, seed);
                    Host emb = random_values(rows * d.emb, seed + 1);
                    Host w1 = random_values(d.hidden * n_gin, seed + 2, 1.0f / std::sqrt(float(n_gin)));
                    Host b1 = random_values(d.hidden, seed + 3, 0.5f);
                    Host w2 = random_values(d.emb * d.hidden, seed + 4, 1.0f / std::sqrt(float(d.hidden)));
                    Host b2 = random_values(d.emb, seed + 5, 0.5f);
                    Host gout = random_values(rows * d.emb, seed + 6);
                    const float* pb1 = bias ? b1.data() : nullptr;
                    const float* pb2 = bias ? b2.data() : nullptr;

                    Host hidden(rows * d.hidden), delta(rows * d.emb), out(rows * d.emb);
                    c.call(dynrec_epnet_forward_reference(rows, d.domain, d.emb, d.hidden, dom.data(), emb.data(),
                                                          w1.data(), pb1, w2.data(), pb2, gamma, hidden.data(),
                                                          delta.data(), out.data()),
                           "dynrec_epnet_forward_reference");
                    Host gdom(rows * d.domain), gemb(rows * d.emb), gw1(d.hidden * n_gin), gb1(d.hidden),
                        gw2(d.emb * d.hidden), gb2(d.emb);
                    c.call(dynrec_epnet_backward_reference(rows, d.domain, d.emb, d.hidden, dom.data(), emb.data(),
                                                           w1.data(), w2.data(), gamma, hidden.data(), delta.data(),
                                                           gout.data(), gdom.data(), gemb.data(), gw1.data(),
                                                           bias ? gb1.data() : nullptr, gw2.data(),
                                                           bias ? gb2.data() : nullptr),
                           "dynrec_epnet_backward_reference");

                    float* ddom = c.buf.put(dom);
                    float* demb = c.buf.put(emb);
                    float* dw1 = c.buf.put(w1);
                    float* dw2 = c.buf.put(w2);
                    float* dh = c.buf.out(rows * d.hidden);
                    float* dd = c.buf.out(rows * d.emb);
                    float* dout = c.buf.out(rows * d.emb);
                    c.call(dynrec_epnet_forward(dev, nullptr, rows, d.domain, d.emb, d.hidden, ddom, demb, dw1,
                                                bias ? c.buf.put(b1) : nullptr, dw2, bias ? c.buf.put(b2) : nullptr,
                                                gamma, dh, dd, dout),
                           "dynrec_epnet_forward");
                    c.note("fwd");
                    c.compare("out", dout, out, kTol);
                    c.compare("delta", dd, delta, kTol);
                    c.compare("hidden", dh, hidden, kTol);

                    int64_t ws = 0;
                    c.call(dynrec_epnet_workspace_size(dev, rows, d.domain, d.emb, d.hidden, &ws),
                           "dynrec_epnet_workspace_size");
                    void* work = c.buf.scratch(ws);
                    float* g_dom = c.buf.out(rows * d.domain);
                    float* g_emb = c.buf.out(rows * d.emb);
                    float* g_w1 = c.buf.out(d.hidden * n_gin);
                    float* g_b1 = bias ? c.buf.out(d.hidden) : nullptr;
                    float* g_w2 = c.buf.out(d.emb * d.hidden);
                    float* g_b2 = bias ? c.buf.out(d.emb) : nullptr;
                    c.call(dynrec_epnet_backward(dev, nullptr, rows, d.domain, d.emb, d.hidden, ddom, demb, dw1, dw2,
                                                 gamma, c.buf.put(hidden), c.buf.put(delta), c.buf.put(gout), g_dom,
                                                 g_emb, g_w1, g_b1, g_w2, g_b2, work, ws),
                           "dynrec_epnet_backward");
                    c.note("| bwd");
                    c.compare("grad_domain", g_dom, gdom, kTol);
                    c.compare("grad_emb", g_emb, gemb, kTol);
                    c.compare("grad_w1", g_w1, gw1, kTol);
                    if (bias) c.compare("grad_b1", g_b1, gb1, kTol);
                    c.compare("grad_w2", g_w2, gw2, kTol);
                    if (bias) c.compare("grad_b2", g_b2, gb2, kTol);
                });
            }
        }
    }
}

}  // namespace dynrec::selftest
