// gate_nu benchmark cases: PEPNet-sized gates (persona+sg(O_ep) -> hidden -> towers).
#include <cmath>
#include <memory>

#include "bench.h"
#include "dynrec/dynrec.h"

namespace dynrec_bench {

namespace {
struct GateNuBuffers {
    int64_t b, ni, nh, no, n_in_grad;
    std::vector<float> x, w1, b1, w2, b2, h, d, gd, gx, gw1, gb1, gw2, gb2;
    GateNuBuffers(int64_t b_, int64_t ni_, int64_t nh_, int64_t no_, int64_t n_in_grad_)
        : b(b_), ni(ni_), nh(nh_), no(no_), n_in_grad(n_in_grad_), x(random_buffer(b * ni, 1)), w1(random_buffer(nh * ni, 2)),
          b1(random_buffer(nh, 3)), w2(random_buffer(no * nh, 4)), b2(random_buffer(no, 5)), h(b * nh), d(b * no),
          gd(random_buffer(b * no, 6)), gx(b * n_in_grad_), gw1(nh * ni), gb1(nh), gw2(no * nh), gb2(no) {
        // Weights at a trained layer's scale (1 / sqrt(fan_in)): with unscaled ones the gate's sigmoid
        // saturates, its gradient underflows to denormals, and the backward GEMMs measure the CPU's
        // denormal assists instead of the kernels (5x slower on the Intel machines).
        for (auto& v : w1) v /= std::sqrt(float(ni));
        for (auto& v : w2) v /= std::sqrt(float(nh));
    }
    void run(bool reference) {
        if (reference) {
            check(dynrec_gate_nu_forward_reference(b, ni, nh, no, x.data(), w1.data(), b1.data(), w2.data(), b2.data(),
                                                   2.0f, h.data(), d.data()));
            check(dynrec_gate_nu_backward_reference(b, ni, nh, no, x.data(), w1.data(), w2.data(), 2.0f, h.data(),
                                                    d.data(), gd.data(), n_in_grad, gx.data(), gw1.data(), gb1.data(),
                                                    gw2.data(), gb2.data()));
        } else {
            check(dynrec_gate_nu_forward(DYNREC_DEVICE_CPU, nullptr, b, ni, nh, no, x.data(), w1.data(), b1.data(),
                                         w2.data(), b2.data(), 2.0f, h.data(), d.data()));
            check(dynrec_gate_nu_backward(DYNREC_DEVICE_CPU, nullptr, b, ni, nh, no, x.data(), w1.data(), w2.data(),
                                          2.0f, h.data(), d.data(), gd.data(), n_in_grad, gx.data(), gw1.data(),
                                          gb1.data(), gw2.data(), gb2.data(), nullptr, 0));
        }
    }
};
}  // namespace

void add_gate_nu_cases(std::vector<Case>& cases, bool quick) {
    // n_in_grad < n_in: PPNet's layer-1 gate, whose input is concat(persona 24, sg(O_ep) 672).
    struct S { int64_t b, ni, nh, no, n_in_grad; };
    const std::vector<S> shapes = quick ? std::vector<S>{{257, 40, 64, 64, 40}, {257, 40, 64, 64, 7}}
                                        : std::vector<S>{{2048, 40, 128, 192, 40},
                                                         {2048, 696, 128, 672, 696},
                                                         {2048, 696, 384, 384, 696},
                                                         {2048, 696, 384, 384, 24}};
    for (const S& s : shapes) {
        auto buf = std::make_shared<GateNuBuffers>(s.b, s.ni, s.nh, s.no, s.n_in_grad);
        // The input-gradient GEMM counts only the columns formed.
        const double flops = 2.0 * double(s.b) *
                             (3.0 * (double(s.ni) * s.nh + double(s.nh) * s.no) - double(s.ni - s.n_in_grad) * s.nh);
        cases.push_back({"gate_nu fwd+bwd",
                         "B=" + std::to_string(s.b) + " " + std::to_string(s.ni) + "->" + std::to_string(s.nh) +
                             "->" + std::to_string(s.no) +
                             (s.n_in_grad < s.ni ? ", grad of x[:, :" + std::to_string(s.n_in_grad) + "]" : ""),
                         flops, [buf] { buf->run(true); }, [buf] { buf->run(false); }});
    }
}

}  // namespace dynrec_bench
