// hyper_linear benchmark cases: APG's generated KxK step / M2M's meta unit,
// and M2M's attention step, where R = 12 rows (tasks x experts) share each
// sample's condition row, beside the same rows through the per-row path (z
// repeated: what that step cost before rows_per_cond).
#include <algorithm>
#include <memory>

#include "bench.h"
#include "dynrec/dynrec.h"

namespace dynrec_bench {

namespace {
struct HyperLinearBuffers {
    int64_t b, ni, no, nc, r;  // r: rows per condition row (z has b / r rows)
    std::vector<float> x, z, gw, gb, cw, cb, y, gy, gx, gz, ggw, ggb, gcw, gcb;
    HyperLinearBuffers(int64_t b_, int64_t ni_, int64_t no_, int64_t nc_, int64_t r_ = 1)
        : b(b_), ni(ni_), no(no_), nc(nc_), r(r_), x(random_buffer(b * ni, 1)), z(random_buffer(b / r * nc, 2)),
          gw(random_buffer(ni * no * nc, 3)), gb(random_buffer(ni * no, 4)), cw(random_buffer(no * nc, 5)),
          cb(random_buffer(no, 6)), y(b * no), gy(random_buffer(b * no, 7)), gx(b * ni), gz(b / r * nc),
          ggw(ni * no * nc), ggb(ni * no), gcw(no * nc), gcb(no) {}
    // The same rows with z repeated per row (for the per-row path).
    void repeat_z(const HyperLinearBuffers& shared) {
        for (int64_t i = 0; i < b; ++i)
            std::copy_n(shared.z.begin() + (i / shared.r) * nc, nc, z.begin() + i * nc);
    }
    void run(bool reference, bool backward) {
        const int32_t act = DYNREC_ACT_RELU;
        if (reference) {
            check(dynrec_hyper_linear_forward_reference(b, ni, no, nc, r, x.data(), z.data(), gw.data(), gb.data(),
                                                        cw.data(), cb.data(), act, y.data()));
            if (backward)
                check(dynrec_hyper_linear_backward_reference(b, ni, no, nc, r, x.data(), z.data(), gw.data(), gb.data(),
                                                             cw.data(), act, y.data(), gy.data(), gx.data(), gz.data(),
                                                             ggw.data(), ggb.data(), gcw.data(), gcb.data()));
        } else {
            check(dynrec_hyper_linear_forward(DYNREC_DEVICE_CPU, nullptr, b, ni, no, nc, r, x.data(), z.data(),
                                              gw.data(), gb.data(), cw.data(), cb.data(), act, y.data(), nullptr, 0));
            if (backward)
                check(dynrec_hyper_linear_backward(DYNREC_DEVICE_CPU, nullptr, b, ni, no, nc, r, x.data(), z.data(),
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
    // Shared conditions: the naive reference generates S per row, so the batch is kept small enough to time it.
    const int64_t samples = quick ? 11 : 256, rows = 12, ni = quick ? 16 : 64, nc = quick ? 4 : 16;
    auto shared = std::make_shared<HyperLinearBuffers>(samples * rows, ni, ni, nc, rows);
    auto per_row = std::make_shared<HyperLinearBuffers>(samples * rows, ni, ni, nc);
    per_row->repeat_z(*shared);
    // Multiply-adds as the grouped kernel counts them: S once per sample (twice: forward and
    // backward), then the per-row products and dS, grad_z and grad_g_w.
    const double area = double(ni) * ni, fwd = 2.0 * samples * (area * nc + rows * area);
    const double fwd_bwd = fwd + 2.0 * samples * (area * nc + 3.0 * rows * area + 2.0 * area * nc);
    const std::string shape = std::to_string(samples) + " samples x " + std::to_string(rows) + " rows " +
                              std::to_string(ni) + "->" + std::to_string(ni) + " cond " + std::to_string(nc);
    cases.push_back({"hyper_linear shared fwd", shape, fwd, [shared] { shared->run(true, false); },
                     [shared] { shared->run(false, false); }});
    cases.push_back({"hyper_linear shared fwd+bwd", shape, fwd_bwd, [shared] { shared->run(true, true); },
                     [shared] { shared->run(false, true); }});
    // The same rows through the per-row path (no reference: the naive loops above, on more
    // memory). Its GF/s counts the shared op's work: an effective rate, comparable to the row above.
    cases.push_back({"hyper_linear shared via per-row", shape, fwd_bwd, {},
                     [per_row] { per_row->run(false, true); }});
}

}  // namespace dynrec_bench
