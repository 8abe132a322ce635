// apg_layer benchmark cases: FunRec's APG layer at its default sizes
// (n = m = 256, mf_k = 4 -> k = 64, condition 16), in each mode; forward +
// backward with every gradient.
#include <memory>

#include "bench.h"
#include "dynrec/dynrec.h"

namespace dynrec_bench {

namespace {
constexpr int kSlots = 20;

struct ApgBuffers {
    int64_t b, n, m, nc, mf_k, mf_p, k = 0, p = 0;
    int32_t uv;
    std::vector<float> x, z, saved, y, gy, gx, gz;
    std::vector<std::vector<float>> param, grad;
    double flops = 0;
    ApgBuffers(int64_t b_, int64_t n_, int64_t m_, int64_t nc_, int32_t uv_, int64_t mf_k_, int64_t mf_p_)
        : b(b_), n(n_), m(m_), nc(nc_), mf_k(mf_k_), mf_p(mf_p_), uv(uv_), param(kSlots), grad(kSlots) {
        check(dynrec_apg_layer_dims(n, m, uv, mf_k, mf_p, &k, &p));
        int64_t saved_n = 0;
        check(dynrec_apg_layer_saved_size(b, n, m, uv, mf_k, mf_p, &saved_n));
        x = random_buffer(b * n, 1);
        z = random_buffer(b * nc, 2);
        saved.resize(saved_n);
        y.resize(b * m);
        gy = random_buffer(b * m, 3);
        gx.resize(b * n);
        gz.resize(b * nc);
        auto dense = [&](int slot, int64_t in, int64_t out) {
            param[slot] = random_buffer(out * in, 10 + slot);
            param[slot + 1] = random_buffer(out, 11 + slot);
            flops += 3.0 * 2.0 * b * in * out;  // forward, grad_w, grad_x
        };
        auto generated = [&](int slot, int64_t in, int64_t out) {
            param[slot] = random_buffer(in * out * nc, 10 + slot);
            param[slot + 1] = random_buffer(in * out, 11 + slot);
            param[slot + 2] = random_buffer(out * nc, 12 + slot);
            param[slot + 3] = random_buffer(out, 13 + slot);
            flops += 4.0 * 2.0 * b * in * out * nc;  // S-free: forward + 3 backward products
        };
        if (uv && p > 0) {
            dense(0, n, p);
            dense(2, p, k);
            generated(4, k, k);
            dense(8, k, p);
            dense(10, p, m);
        } else if (uv) {
            dense(0, n, k);
            generated(4, k, k);
            dense(10, k, m);
        } else {
            generated(12, n, k);
            generated(4, k, k);
            generated(16, k, m);
        }
        for (int s = 0; s < kSlots; ++s) grad[s].resize(param[s].size());
    }
    const float* P(int s) const { return param[s].empty() ? nullptr : param[s].data(); }
    float* G(int s) { return grad[s].empty() ? nullptr : grad[s].data(); }
    void run(bool reference) {
        const int32_t inner = DYNREC_ACT_NONE, act = DYNREC_ACT_RELU;
        if (reference) {
            check(dynrec_apg_layer_forward_reference(b, n, m, nc, uv, mf_k, mf_p, inner, act, x.data(), z.data(), P(0),
                                                     P(1), P(2), P(3), P(4), P(5), P(6), P(7), P(8), P(9), P(10), P(11),
                                                     P(12), P(13), P(14), P(15), P(16), P(17), P(18), P(19),
                                                     saved.data(), y.data()));
            check(dynrec_apg_layer_backward_reference(
                b, n, m, nc, uv, mf_k, mf_p, inner, act, x.data(), z.data(), P(0), P(2), P(4), P(5), P(6), P(8), P(10),
                P(12), P(13), P(14), P(16), P(17), P(18), saved.data(), y.data(), gy.data(), gx.data(), gz.data(),
                G(0), G(1), G(2), G(3), G(4), G(5), G(6), G(7), G(8), G(9), G(10), G(11), G(12), G(13), G(14), G(15),
                G(16), G(17), G(18), G(19)));
            return;
        }
        check(dynrec_apg_layer_forward(DYNREC_DEVICE_CPU, nullptr, b, n, m, nc, uv, mf_k, mf_p, inner, act, x.data(),
                                       z.data(), P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7), P(8), P(9), P(10),
                                       P(11), P(12), P(13), P(14), P(15), P(16), P(17), P(18), P(19), saved.data(),
                                       y.data(), nullptr, 0));
        check(dynrec_apg_layer_backward(DYNREC_DEVICE_CPU, nullptr, b, n, m, nc, uv, mf_k, mf_p, inner, act,
                                        x.data(), z.data(), P(0), P(2), P(4), P(5), P(6), P(8), P(10), P(12), P(13),
                                        P(14), P(16), P(17), P(18), saved.data(), y.data(), gy.data(), gx.data(),
                                        gz.data(), G(0), G(1), G(2), G(3), G(4), G(5), G(6), G(7), G(8), G(9), G(10),
                                        G(11), G(12), G(13), G(14), G(15), G(16), G(17), G(18), G(19), nullptr, 0));
    }
};
}  // namespace

void add_apg_layer_cases(std::vector<Case>& cases, bool quick) {
    struct S { int64_t b, n, m, nc; int32_t uv; int64_t mf_k, mf_p; const char* mode; };
    const std::vector<S> shapes =
        quick ? std::vector<S>{{257, 32, 32, 4, 1, 4, 4, "uv+P"}}
              : std::vector<S>{{2048, 256, 256, 16, 1, 4, 4, "uv+P"},
                               {2048, 256, 256, 16, 1, 4, 0, "uv"},
                               {2048, 256, 256, 16, 0, 4, 0, "generated"}};
    for (const S& s : shapes) {
        auto buf = std::make_shared<ApgBuffers>(s.b, s.n, s.m, s.nc, s.uv, s.mf_k, s.mf_p);
        cases.push_back({std::string("apg_layer fwd+bwd ") + s.mode,
                         "B=" + std::to_string(s.b) + " " + std::to_string(s.n) + "->" + std::to_string(s.m) +
                             " k " + std::to_string(buf->k) + " p " + std::to_string(buf->p) + " cond " +
                             std::to_string(s.nc),
                         buf->flops, [buf] { buf->run(true); }, [buf] { buf->run(false); }});
    }
}

}  // namespace dynrec_bench
