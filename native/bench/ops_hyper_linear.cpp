// hyper_linear benchmark cases: APG's generated KxK step / M2M's meta unit.
#include <memory>

#include "bench.h"
#include "dynrec/dynrec.h"

namespace dynrec_bench {

namespace {
struct HyperLinearBuffers {
    int64_t b, ni, no, nc;
    std::vector<float> x, z, gw, gb, cw, cb, y, gy, gx, gz, ggw, ggb, gcw, gcb;
    HyperLinearBuffers(int64_t b_, int64_t ni_, int64_t no_, int64_t nc_)
        : b(b_), ni(ni_), no(no_), nc(nc_), x(random_buffer(b * ni, 1)), z(random_buffer(b * nc, 2)),
          gw(random_buffer(ni * no * nc, 3)), gb(random_buffer(ni * no, 4)), cw(random_buffer(no * nc, 5)),
          cb(random_buffer(no, 6)), y(b * no), gy(random_buffer(b * no, 7)), gx(b * ni), gz(b * nc),
          ggw(ni * no * nc), ggb(ni * no), gcw(no * nc), gcb(no) {}
    void run(bool reference, bool backward) {
        const int32_t act = DYNREC_ACT_RELU;
        if (reference) {
            check(dynrec_hyper_linear_forward_reference(b, ni, no, nc, 1, x.data(), z.data(), gw.data(), gb.data(),
                                                        cw.data(), cb.data(), act, y.data()));
            if (backward)
                check(dynrec_hyper_linear_backward_reference(b, ni, no, nc, 1, x.data(), z.data(), gw.data(), gb.data(),
                                                             cw.data(), act, y.data(), gy.data(), gx.data(), gz.data(),
                                                             ggw.data(), ggb.data(), gcw.data(), gcb.data()));
        } else {
            check(dynrec_hyper_linear_forward(DYNREC_DEVICE_CPU, nullptr, b, ni, no, nc, 1, x.data(), z.data(),
                                              gw.data(), gb.data(), cw.data(), cb.data(), act, y.data(), nullptr, 0));
            if (backward)
                check(dynrec_hyper_linear_backward(DYNREC_DEVICE_CPU, nullptr, b, ni, no, nc, 1, x.data(), z.data(),
                                                   gw.data(), gb.data(), cw.data(), act, y.data(), gy.data(),
                                                   gx.data(), gz.data(), ggw.data(), ggb.data(), gcw.data(),
                                                   gcb.data(), nullptr, 0));
        }
    }
};
}  // namespace

void add_hyper_linear_cases(std::vector<Case>& cases, bool quick) {
    struct S { int64_t b, ni, no, nc; };
    const std::vector<S> shapes = quick ? std::vector<S>{{257, 16, 16, 4}} : std::vector<S>{{2048, 64, 64, 16}};
    for (const S& s : shapes) {
        auto buf = std::make_shared<HyperLinearBuffers>(s.b, s.ni, s.no, s.nc);
        // The S-free product is 2*B*n_in*n_out*n_cond per GEMM: 1 forward, 3 backward.
        const double gemm = 2.0 * double(s.b) * s.ni * s.no * s.nc;
        const std::string shape = "B=" + std::to_string(s.b) + " " + std::to_string(s.ni) + "->" +
                                  std::to_string(s.no) + " cond " + std::to_string(s.nc);
        cases.push_back({"hyper_linear fwd", shape, gemm, [buf] { buf->run(true, false); },
                         [buf] { buf->run(false, false); }});
        cases.push_back({"hyper_linear fwd+bwd", shape, 4.0 * gemm, [buf] { buf->run(true, true); },
                         [buf] { buf->run(false, true); }});
    }
}

}  // namespace dynrec_bench
