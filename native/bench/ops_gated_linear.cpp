// gated_linear benchmark cases: a PEPNet PPNet tower stack (FunRec shapes):
// layer 1 reads the shared input [B, 672] -> 128 per tower, layer 2 maps each
// tower's [B, 128] -> 64; 3 towers, output gate, ReLU; forward + backward of
// both layers (every gradient, as training needs).
#include <memory>

#include "bench.h"
#include "dynrec/dynrec.h"

namespace dynrec_bench {

namespace {
struct TowerStack {
    int64_t t, b, n0, n1, n2;
    std::vector<float> x, w1, b1, d1, a1, y1, w2, b2, d2, a2, y2, gy2, gy1, gx, gw1, gb1, gd1, gw2, gb2, gd2;
    TowerStack(int64_t t_, int64_t b_, int64_t n0_, int64_t n1_, int64_t n2_)
        : t(t_), b(b_), n0(n0_), n1(n1_), n2(n2_), x(random_buffer(b * n0, 1)), w1(random_buffer(t * n1 * n0, 2)),
          b1(random_buffer(t * n1, 3)), d1(random_buffer(b * t * n1, 4)), a1(t * b * n1), y1(t * b * n1),
          w2(random_buffer(t * n2 * n1, 5)), b2(random_buffer(t * n2, 6)), d2(random_buffer(b * t * n2, 7)),
          a2(t * b * n2), y2(t * b * n2), gy2(random_buffer(t * b * n2, 8)), gy1(t * b * n1), gx(b * n0),
          gw1(t * n1 * n0), gb1(t * n1), gd1(b * t * n1), gw2(t * n2 * n1), gb2(t * n2), gd2(b * t * n2) {}
    void run(bool reference) {
        const int32_t gate = DYNREC_GATE_OUTPUT, act = DYNREC_ACT_RELU;
        if (reference) {
            check(dynrec_gated_linear_forward_reference(t, b, n0, n1, gate, act, 1, x.data(), w1.data(), b1.data(),
                                                        d1.data(), a1.data(), y1.data()));
            check(dynrec_gated_linear_forward_reference(t, b, n1, n2, gate, act, 0, y1.data(), w2.data(), b2.data(),
                                                        d2.data(), a2.data(), y2.data()));
            check(dynrec_gated_linear_backward_reference(t, b, n1, n2, gate, act, 0, y1.data(), w2.data(), d2.data(),
                                                         a2.data(), gy2.data(), gy1.data(), gw2.data(), gb2.data(),
                                                         gd2.data()));
            check(dynrec_gated_linear_backward_reference(t, b, n0, n1, gate, act, 1, x.data(), w1.data(), d1.data(),
                                                         a1.data(), gy1.data(), gx.data(), gw1.data(), gb1.data(),
                                                         gd1.data()));
            return;
        }
        const int32_t cpu = DYNREC_DEVICE_CPU;
        check(dynrec_gated_linear_forward(cpu, nullptr, t, b, n0, n1, gate, act, 1, x.data(), w1.data(), b1.data(),
                                          d1.data(), a1.data(), y1.data(), nullptr, 0));
        check(dynrec_gated_linear_forward(cpu, nullptr, t, b, n1, n2, gate, act, 0, y1.data(), w2.data(), b2.data(),
                                          d2.data(), a2.data(), y2.data(), nullptr, 0));
        check(dynrec_gated_linear_backward(cpu, nullptr, t, b, n1, n2, gate, act, 0, y1.data(), w2.data(), d2.data(),
                                           a2.data(), gy2.data(), gy1.data(), gw2.data(), gb2.data(), gd2.data(),
                                           nullptr, 0));
        check(dynrec_gated_linear_backward(cpu, nullptr, t, b, n0, n1, gate, act, 1, x.data(), w1.data(), d1.data(),
                                           a1.data(), gy1.data(), gx.data(), gw1.data(), gb1.data(), gd1.data(),
                                           nullptr, 0));
    }
};
}  // namespace

void add_gated_linear_cases(std::vector<Case>& cases, bool quick) {
    struct S { int64_t t, b, n0, n1, n2; };
    const std::vector<S> shapes = quick ? std::vector<S>{{3, 257, 40, 32, 16}} : std::vector<S>{{3, 2048, 672, 128, 64}};
    for (const S& s : shapes) {
        auto buf = std::make_shared<TowerStack>(s.t, s.b, s.n0, s.n1, s.n2);
        // 3 GEMMs per layer (forward, grad_w, grad_x), 2 flops per MAC.
        const double flops = 3.0 * 2.0 * double(s.t) * s.b * (double(s.n0) * s.n1 + double(s.n1) * s.n2);
        cases.push_back({"gated_linear tower stack fwd+bwd",
                         "T=" + std::to_string(s.t) + " B=" + std::to_string(s.b) + " " + std::to_string(s.n0) +
                             "->" + std::to_string(s.n1) + "->" + std::to_string(s.n2),
                         flops, [buf] { buf->run(true); }, [buf] { buf->run(false); }});
    }
}

}  // namespace dynrec_bench
