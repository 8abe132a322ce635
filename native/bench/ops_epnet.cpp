// epnet benchmark cases: PEPNet's EPNet over the concatenated field
// embeddings (FunRec: gate hidden = embedding width).
#include <cmath>
#include <memory>

#include "bench.h"
#include "dynrec/dynrec.h"

namespace dynrec_bench {

namespace {
struct EpnetBuffers {
    int64_t b, nd, ne, nh;
    std::vector<float> dm, e, w1, b1, w2, b2, h, d, out, go, gdm, ge, gw1, gb1, gw2, gb2;
    EpnetBuffers(int64_t b_, int64_t nd_, int64_t ne_, int64_t nh_)
        : b(b_), nd(nd_), ne(ne_), nh(nh_), dm(random_buffer(b * nd, 1)), e(random_buffer(b * ne, 2)),
          w1(random_buffer(nh * (nd + ne), 3)), b1(random_buffer(nh, 4)), w2(random_buffer(ne * nh, 5)),
          b2(random_buffer(ne, 6)), h(b * nh), d(b * ne), out(b * ne), go(random_buffer(b * ne, 7)), gdm(b * nd),
          ge(b * ne), gw1(nh * (nd + ne)), gb1(nh), gw2(ne * nh), gb2(ne) {
        // Weights at a trained layer's scale, so the gate's sigmoid does not saturate into
        // denormal gradients (see ops_gate_nu.cpp).
        for (auto& v : w1) v /= std::sqrt(float(nd + ne));
        for (auto& v : w2) v /= std::sqrt(float(nh));
    }
    void run(bool reference) {
        if (reference) {
            check(dynrec_epnet_forward_reference(b, nd, ne, nh, dm.data(), e.data(), w1.data(), b1.data(), w2.data(),
                                                 b2.data(), 2.0f, h.data(), d.data(), out.data()));
            check(dynrec_epnet_backward_reference(b, nd, ne, nh, dm.data(), e.data(), w1.data(), w2.data(), 2.0f,
                                                  h.data(), d.data(), go.data(), gdm.data(), ge.data(), gw1.data(),
                                                  gb1.data(), gw2.data(), gb2.data()));
            return;
        }
        check(dynrec_epnet_forward(DYNREC_DEVICE_CPU, nullptr, b, nd, ne, nh, dm.data(), e.data(), w1.data(),
                                   b1.data(), w2.data(), b2.data(), 2.0f, h.data(), d.data(), out.data()));
        check(dynrec_epnet_backward(DYNREC_DEVICE_CPU, nullptr, b, nd, ne, nh, dm.data(), e.data(), w1.data(),
                                    w2.data(), 2.0f, h.data(), d.data(), go.data(), gdm.data(), ge.data(), gw1.data(),
                                    gb1.data(), gw2.data(), gb2.data(), nullptr, 0));
    }
};
}  // namespace

void add_epnet_cases(std::vector<Case>& cases, bool quick) {
    struct S { int64_t b, nd, ne, nh; };
    // 84 fields x emb_dim 8 = 672 (PEPNet's tower input); domain = 3 scenario fields x 8.
    const std::vector<S> shapes = quick ? std::vector<S>{{257, 8, 40, 40}} : std::vector<S>{{2048, 24, 672, 672}};
    for (const S& s : shapes) {
        auto buf = std::make_shared<EpnetBuffers>(s.b, s.nd, s.ne, s.nh);
        const double flops = 2.0 * double(s.b) * (3.0 * double(s.nd + s.ne) * s.nh + 3.0 * double(s.nh) * s.ne);
        cases.push_back({"epnet fwd+bwd",
                         "B=" + std::to_string(s.b) + " " + std::to_string(s.nd) + "+" + std::to_string(s.ne) +
                             "->" + std::to_string(s.nh) + "->" + std::to_string(s.ne),
                         flops, [buf] { buf->run(true); }, [buf] { buf->run(false); }});
    }
}

}  // namespace dynrec_bench
