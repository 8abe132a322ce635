// Self-test of hyper_linear (per-sample generated weight, S never formed):
// every activation (full sweep on one batch size), with all generator
// biases, with none, and with each alone; forward and backward; a condition
// per row, and shared by 3 rows (every activation) or 8 (a long batch).
#include <cmath>
#include <string>

#include "common/math_mode.h"
#include "selftest/harness.h"

namespace dynrec::selftest {

namespace {
// Sums run over (n_in + 1) * (n_cond + 1) terms; TF32 rounds both factors.
constexpr Tolerance kTol{5e-5, 1e-2};

struct Dims {
    int64_t in, out, cond;
};

// Which of g_b, c_w, c_b are present (bit 0, 1, 2).
const char* bias_name(int mask) {
    switch (mask) {
        case 7: return "g_b+c_w+c_b";
        case 0: return "no-bias";
        case 1: return "g_b";
        case 2: return "c_w";
        case 4: return "c_b";
        default: return "?";
    }
}
}  // namespace

void check_hyper_linear(Runner& r) {
    const int32_t dev = r.device();
    const int32_t all_acts[] = {DYNREC_ACT_NONE, DYNREC_ACT_RELU, DYNREC_ACT_SIGMOID, DYNREC_ACT_TANH,
                                DYNREC_ACT_LEAKY_RELU};
    // The third shape, once: wide input and condition (the CUDA fused path's backward then needs
    // more than 48 KB of shared memory for 16-row blocks), a narrow output.
    for (Dims d : {Dims{13, 11, 5}, Dims{67, 70, 17}, Dims{200, 5, 190}}) {
        for (int64_t rows : test_rows()) {
            for (int mask : {7, 0, 1, 2, 4}) {
                for (int32_t act : all_acts)
                for (int64_t per : {1, 3, 8}) {
                    // Shared conditions: every activation on 11 groups of 3; 125 groups of 8 at 67 -> 70,
                    // which cross chunks of S on CUDA (CTest runs 1 MiB chunks) and 8-group tiles on the CPU.
                    if (per == 3 && (rows != 33 || mask != 7 || d.in == 200)) continue;
                    if (per == 8 && (rows != 1000 || mask != 7 || d.in != 67 || act != DYNREC_ACT_RELU)) continue;
                    if (rows != 33 && act != DYNREC_ACT_RELU) continue;
                    if (mask != 7 && (rows != 33 || act != DYNREC_ACT_RELU)) continue;
                    if (d.in == 200 && (rows != 33 || mask != 7 || act != DYNREC_ACT_RELU)) continue;
                    const std::string label = "hyper_linear rows=" + std::to_string(rows) + " in=" +
                                              std::to_string(d.in) + " out=" + std::to_string(d.out) +
                                              " cond=" + std::to_string(d.cond) + " " + bias_name(mask) +
                                              " act=" + activation_name(act) +
                                              (per == 1 ? "" : " rows/cond=" + std::to_string(per));
                    for (const HyperPathCase& path_case : hyper_paths(dev)) {
                        const ScopedModeOverride path(CudaMode::kHyperPath, path_case.path);
                        r.run(label + path_case.suffix, [&](Case& c) {
                            const uint32_t seed = static_cast<uint32_t>(rows * 613 + d.in + mask * 17 + act);
                            const bool has_gb = mask & 1, has_cw = mask & 2, has_cb = mask & 4;
                            Host x = random_values(rows * d.in, seed);
                            Host z = random_values(rows / per * d.cond, seed + 1);
                            const float gen_scale = 1.0f / std::sqrt(float(d.in * d.cond));
                            Host gw = random_values(d.in * d.out * d.cond, seed + 2, gen_scale);
                            Host gb = random_values(d.in * d.out, seed + 3, 1.0f / std::sqrt(float(d.in)));
                            Host cw = random_values(d.out * d.cond, seed + 4, 0.5f);
                            Host cb = random_values(d.out, seed + 5, 0.5f);
                            Host gy = random_values(rows * d.out, seed + 6);
                            const float* pgb = has_gb ? gb.data() : nullptr;
                            const float* pcw = has_cw ? cw.data() : nullptr;
                            const float* pcb = has_cb ? cb.data() : nullptr;

                            Host y(rows * d.out);
                            c.call(dynrec_hyper_linear_forward_reference(rows, d.in, d.out, d.cond, per, x.data(), z.data(),
                                                                         gw.data(), pgb, pcw, pcb, act, y.data()),
                                   "dynrec_hyper_linear_forward_reference");
                            Host gx(rows * d.in), gz(rows / per * d.cond), ggw(gw.size()), ggb(gb.size()), gcw(cw.size()),
                                gcb(cb.size());
                            c.call(dynrec_hyper_linear_backward_reference(
                                       rows, d.in, d.out, d.cond, per, x.data(), z.data(), gw.data(), pgb, pcw, act, y.data(),
                                       gy.data(), gx.data(), gz.data(), ggw.data(), has_gb ? ggb.data() : nullptr,
                                       has_cw ? gcw.data() : nullptr, has_cb ? gcb.data() : nullptr),
                                   "dynrec_hyper_linear_backward_reference");

                            float* dx = c.buf.put(x);
                            float* dz = c.buf.put(z);
                            float* dgw = c.buf.put(gw);
                            float* dgb = has_gb ? c.buf.put(gb) : nullptr;
                            float* dcw = has_cw ? c.buf.put(cw) : nullptr;
                            float* dcb = has_cb ? c.buf.put(cb) : nullptr;
                            int64_t ws = 0;
                            c.call(dynrec_hyper_linear_workspace_size(dev, rows, d.in, d.out, d.cond, per, &ws),
                                   "dynrec_hyper_linear_workspace_size");
                            void* work = c.buf.scratch(ws);
                            // With the workspace (split-K when the output is small) and without (unsplit;
                            // CUDA needs it for shared conditions).
                            float* dy = c.buf.out(rows * d.out);
                            c.call(dynrec_hyper_linear_forward(dev, nullptr, rows, d.in, d.out, d.cond, per, dx, dz, dgw,
                                                               dgb, dcw, dcb, act, dy, work, ws),
                                   "dynrec_hyper_linear_forward");
                            c.note("fwd");
                            c.compare("y", dy, y, kTol);
                            if (per == 1 || dev == DYNREC_DEVICE_CPU) {
                                float* dy_unsplit = c.buf.out(rows * d.out);
                                c.call(dynrec_hyper_linear_forward(dev, nullptr, rows, d.in, d.out, d.cond, per, dx, dz,
                                                                   dgw, dgb, dcw, dcb, act, dy_unsplit, nullptr, 0),
                                       "dynrec_hyper_linear_forward (no workspace)");
                                c.compare("y_unsplit", dy_unsplit, y, kTol);
                            }

                            float* g_x = c.buf.out(rows * d.in);
                            float* g_z = c.buf.out(rows / per * d.cond);
                            float* g_gw = c.buf.out(static_cast<int64_t>(gw.size()));
                            float* g_gb = has_gb ? c.buf.out(static_cast<int64_t>(gb.size())) : nullptr;
                            float* g_cw = has_cw ? c.buf.out(static_cast<int64_t>(cw.size())) : nullptr;
                            float* g_cb = has_cb ? c.buf.out(static_cast<int64_t>(cb.size())) : nullptr;
                            c.call(dynrec_hyper_linear_backward(dev, nullptr, rows, d.in, d.out, d.cond, per, dx, dz, dgw,
                                                                dgb, dcw, act, c.buf.put(y), c.buf.put(gy), g_x, g_z, g_gw,
                                                                g_gb, g_cw, g_cb, work, ws),
                                   "dynrec_hyper_linear_backward");
                            c.note("| bwd");
                            c.compare("grad_x", g_x, gx, kTol);
                            c.compare("grad_z", g_z, gz, kTol);
                            c.compare("grad_g_w", g_gw, ggw, kTol);
                            if (has_gb) c.compare("grad_g_b", g_gb, ggb, kTol);
                            if (has_cw) c.compare("grad_c_w", g_cw, gcw, kTol);
                            if (has_cb) c.compare("grad_c_b", g_cb, gcb, kTol);
                        });
                    }
                }
            }
        }
    }
}

}  // namespace dynrec::selftest
