// Self-test of gate_nu: optimized (CPU or CUDA) vs the reference loops,
// forward and backward, with and without biases.
#include <cmath>
#include <string>

#include "selftest/harness.h"

namespace dynrec::selftest {

namespace {
// cuBLAS/blocked FP32 GEMMs reorder sums; TF32 rounds inputs to 10 mantissa bits.
constexpr Tolerance kTol{2e-5, 5e-3};

struct Dims {
    int64_t in, hidden, out;
};
}  // namespace

void check_gate_nu(Runner& r) {
    const int32_t dev = r.device();
    for (Dims d : {Dims{13, 37, 19}, Dims{67, 129, 65}}) {
        for (int64_t rows : test_rows()) {
            for (int bias = 1; bias >= 0; --bias) {
                if (!bias && rows != 33) continue;  // bias-free variant on one batch size
                const std::string label = "gate_nu rows=" + std::to_string(rows) + " in=" + std::to_string(d.in) +
                                          " hidden=" + std::to_string(d.hidden) + " out=" + std::to_string(d.out) +
                                          (bias ? "" : " no-bias, grad of x[:, :in-6]");
                // The bias-free variant also asks for x's leading columns only (PEPNet's stop-gradient tail).
                const int64_t n_in_grad = bias ? d.in : d.in - 6;
                r.run(label, [&](Case& c) {
                    const uint32_t seed = static_cast<uint32_t>(rows * 131 + d.in + bias);
                    const float gamma = 2.0f;
                    Host x = random_values(rows * d.in, seed);
                    Host w1 = random_values(d.hidden * d.in, seed + 1, 1.0f / std::sqrt(float(d.in)));
                    Host b1 = random_values(d.hidden, seed + 2, 0.5f);
                    Host w2 = random_values(d.out * d.hidden, seed + 3, 1.0f / std::sqrt(float(d.hidden)));
                    Host b2 = random_values(d.out, seed + 4, 0.5f);
                    Host gd = random_values(rows * d.out, seed + 5);
                    const float* pb1 = bias ? b1.data() : nullptr;
                    const float* pb2 = bias ? b2.data() : nullptr;

                    Host hidden(rows * d.hidden), delta(rows * d.out);
                    c.call(dynrec_gate_nu_forward_reference(rows, d.in, d.hidden, d.out, x.data(), w1.data(), pb1,
                                                            w2.data(), pb2, gamma, hidden.data(), delta.data()),
                           "dynrec_gate_nu_forward_reference");
                    Host gx(rows * n_in_grad), gw1(d.hidden * d.in), gb1(d.hidden), gw2(d.out * d.hidden), gb2(d.out);
                    c.call(dynrec_gate_nu_backward_reference(rows, d.in, d.hidden, d.out, x.data(), w1.data(),
                                                             w2.data(), gamma, hidden.data(), delta.data(), gd.data(),
                                                             n_in_grad, gx.data(), gw1.data(), bias ? gb1.data() : nullptr,
                                                             gw2.data(), bias ? gb2.data() : nullptr),
                           "dynrec_gate_nu_backward_reference");

                    float* dx = c.buf.put(x);
                    float* dw1 = c.buf.put(w1);
                    float* db1 = bias ? c.buf.put(b1) : nullptr;
                    float* dw2 = c.buf.put(w2);
                    float* db2 = bias ? c.buf.put(b2) : nullptr;
                    float* dh = c.buf.out(rows * d.hidden);
                    float* dd = c.buf.out(rows * d.out);
                    c.call(dynrec_gate_nu_forward(dev, nullptr, rows, d.in, d.hidden, d.out, dx, dw1, db1, dw2, db2,
                                                  gamma, dh, dd),
                           "dynrec_gate_nu_forward");
                    c.note("fwd");
                    c.compare("delta", dd, delta, kTol);
                    c.compare("hidden", dh, hidden, kTol);

                    // Backward from the reference's saved tensors, so it is checked on its own.
                    int64_t ws = 0;
                    c.call(dynrec_gate_nu_workspace_size(dev, rows, d.in, d.hidden, d.out, &ws),
                           "dynrec_gate_nu_workspace_size");
                    void* work = c.buf.scratch(ws);
                    float* g_x = c.buf.out(rows * n_in_grad);
                    float* g_w1 = c.buf.out(d.hidden * d.in);
                    float* g_b1 = bias ? c.buf.out(d.hidden) : nullptr;
                    float* g_w2 = c.buf.out(d.out * d.hidden);
                    float* g_b2 = bias ? c.buf.out(d.out) : nullptr;
                    c.call(dynrec_gate_nu_backward(dev, nullptr, rows, d.in, d.hidden, d.out, dx, dw1, dw2, gamma,
                                                   c.buf.put(hidden), c.buf.put(delta), c.buf.put(gd), n_in_grad,
                                                   g_x, g_w1,
                                                   g_b1, g_w2, g_b2, work, ws),
                           "dynrec_gate_nu_backward");
                    c.note("| bwd");
                    c.compare("grad_x", g_x, gx, kTol);
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
