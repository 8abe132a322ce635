// Self-test of gated_linear (PPNet layer, tower-batched): every gate
// position, x shared or per tower, every activation (the full sweep on one
// batch size, ReLU on the others), forward and backward.
#include <cmath>
#include <string>

#include "selftest/harness.h"

namespace dynrec::selftest {

namespace {
constexpr Tolerance kTol{2e-5, 5e-3};

struct Dims {
    int64_t towers, in, out;
};
}  // namespace

void check_gated_linear(Runner& r) {
    const int32_t dev = r.device();
    const int32_t all_acts[] = {DYNREC_ACT_NONE, DYNREC_ACT_RELU, DYNREC_ACT_SIGMOID, DYNREC_ACT_TANH,
                                DYNREC_ACT_LEAKY_RELU};
    for (Dims d : {Dims{3, 13, 11}, Dims{2, 67, 70}}) {
        for (int64_t rows : test_rows()) {
            for (int32_t gate : {DYNREC_GATE_OUTPUT, DYNREC_GATE_INPUT}) {
                for (int32_t shared : {1, 0}) {
                    for (int32_t act : all_acts) {
                        if (rows != 33 && act != DYNREC_ACT_RELU) continue;
                        const std::string label =
                            "gated_linear rows=" + std::to_string(rows) + " towers=" + std::to_string(d.towers) +
                            " in=" + std::to_string(d.in) + " out=" + std::to_string(d.out) +
                            (gate == DYNREC_GATE_OUTPUT ? " gate=output" : " gate=input") +
                            (shared ? " x=shared" : " x=per-tower") + " act=" + activation_name(act);
                        r.run(label, [&](Case& c) {
                            const uint32_t seed = static_cast<uint32_t>(rows * 977 + gate * 31 + shared * 7 + act);
                            const int64_t T = d.towers, n_gate = gate == DYNREC_GATE_OUTPUT ? d.out : d.in;
                            const int64_t x_n = (shared ? 1 : T) * rows * d.in;
                            Host x = random_values(x_n, seed);
                            Host w = random_values(T * d.out * d.in, seed + 1, 1.0f / std::sqrt(float(d.in)));
                            Host b = random_values(T * d.out, seed + 2, 0.5f);
                            Host delta = random_values(rows * T * n_gate, seed + 3, 1.0f);
                            for (auto& v : delta) v += 1.0f;  // a GateNU output lies in (0, 2)
                            Host gy = random_values(T * rows * d.out, seed + 4);

                            Host act_out(T * rows * d.out), y(T * rows * d.out);
                            c.call(dynrec_gated_linear_forward_reference(T, rows, d.in, d.out, gate, act, shared,
                                                                         x.data(), w.data(), b.data(), delta.data(),
                                                                         act_out.data(), y.data()),
                                   "dynrec_gated_linear_forward_reference");
                            Host gx(x_n), gw(T * d.out * d.in), gb(T * d.out), gdelta(rows * T * n_gate);
                            c.call(dynrec_gated_linear_backward_reference(
                                       T, rows, d.in, d.out, gate, act, shared, x.data(), w.data(), delta.data(),
                                       act_out.data(), gy.data(), gx.data(), gw.data(), gb.data(), gdelta.data()),
                                   "dynrec_gated_linear_backward_reference");

                            int64_t ws = 0;
                            c.call(dynrec_gated_linear_workspace_size(dev, T, rows, d.in, d.out, gate, shared, &ws),
                                   "dynrec_gated_linear_workspace_size");
                            void* work = c.buf.scratch(ws);
                            float* dx = c.buf.put(x);
                            float* dw = c.buf.put(w);
                            float* ddelta = c.buf.put(delta);
                            float* d_act = c.buf.out(T * rows * d.out);
                            float* d_y = c.buf.out(T * rows * d.out);
                            c.call(dynrec_gated_linear_forward(dev, nullptr, T, rows, d.in, d.out, gate, act, shared,
                                                               dx, dw, c.buf.put(b), ddelta, d_act, d_y, work, ws),
                                   "dynrec_gated_linear_forward");
                            c.note("fwd");
                            c.compare("y", d_y, y, kTol);
                            c.compare("act_out", d_act, act_out, kTol);

                            float* g_x = c.buf.out(x_n);
                            float* g_w = c.buf.out(T * d.out * d.in);
                            float* g_b = c.buf.out(T * d.out);
                            float* g_delta = c.buf.out(rows * T * n_gate);
                            c.call(dynrec_gated_linear_backward(dev, nullptr, T, rows, d.in, d.out, gate, act, shared,
                                                                dx, dw, ddelta, c.buf.put(act_out), c.buf.put(gy),
                                                                g_x, g_w, g_b, g_delta, work, ws),
                                   "dynrec_gated_linear_backward");
                            c.note("| bwd");
                            c.compare("grad_x", g_x, gx, kTol);
                            c.compare("grad_w", g_w, gw, kTol);
                            c.compare("grad_b", g_b, gb, kTol);
                            c.compare("grad_delta", g_delta, gdelta, kTol);
                        });
                    }
                }
            }
        }
    }
}

}  // namespace dynrec::selftest
