// Self-test of apg_layer (FunRec's APGLayer chain): all three modes
// (uv_shared with and without the P steps, not shared), every activation
// in both positions (on one batch size), forward and backward of every slot.
#include <cmath>
#include <string>
#include <vector>

#include "common/math_mode.h"
#include "selftest/harness.h"

namespace dynrec::selftest {

namespace {
// Up to five chained steps: errors compound a little over the plain ops.
constexpr Tolerance kTol{1e-4, 2e-2};

constexpr int kSlots = kApgSlotCount;
const char* const kSlotNames[kSlots] = {"w_in",  "b_in",  "w_pk",  "b_pk",  "kk_gw", "kk_gb", "kk_cw",
                                        "kk_cb", "w_kp",  "b_kp",  "w_out", "b_out", "nk_gw", "nk_gb",
                                        "nk_cw", "nk_cb", "km_gw", "km_gb", "km_cw", "km_cb"};

struct Mode {
    int32_t uv_shared;
    int64_t mf_k, mf_p;
    const char* name;
};

struct Dims {
    int64_t n, m, cond;
};

}  // namespace

std::vector<int64_t> apg_slot_sizes(int64_t n, int64_t m, int64_t cond, int32_t uv, int64_t k, int64_t p) {
    std::vector<int64_t> s(kSlots, 0);
    auto generated = [&](int first, int64_t n_in, int64_t n_out) {
        s[first] = n_in * n_out * cond, s[first + 1] = n_in * n_out, s[first + 2] = n_out * cond, s[first + 3] = n_out;
    };
    generated(4, k, k);
    if (!uv) {
        generated(12, n, k);
        generated(16, k, m);
        return s;
    }
    const int64_t first_out = p ? p : k;
    s[0] = first_out * n, s[1] = first_out;
    if (p) s[2] = k * p, s[3] = k, s[8] = p * k, s[9] = p;
    s[10] = m * first_out, s[11] = m;
    return s;
}

float apg_slot_scale(int slot, int64_t n, int64_t cond, int64_t k, int64_t p, int32_t uv) {
    switch (slot) {
        case 0: return 1.0f / std::sqrt(float(n));
        case 2: return 1.0f / std::sqrt(float(p));
        case 8: return 1.0f / std::sqrt(float(k));
        case 10: return 1.0f / std::sqrt(float(uv && p ? p : k));
        case 4: case 16: return 1.0f / std::sqrt(float(k * cond));
        case 12: return 1.0f / std::sqrt(float(n * cond));
        case 5: case 17: return 1.0f / std::sqrt(float(k));
        case 13: return 1.0f / std::sqrt(float(n));
        default: return 0.3f;  // biases and the generated-bias weights
    }
}

void check_apg_layer(Runner& r) {
    const int32_t dev = r.device();
    const Mode modes[] = {{1, 2, 3, "uv_shared+P"}, {1, 2, 0, "uv_shared"}, {0, 2, 0, "generated NK/KM"}};
    const int32_t pairs[][2] = {{DYNREC_ACT_RELU, DYNREC_ACT_RELU},       {DYNREC_ACT_NONE, DYNREC_ACT_RELU},
                                {DYNREC_ACT_RELU, DYNREC_ACT_NONE},       {DYNREC_ACT_SIGMOID, DYNREC_ACT_TANH},
                                {DYNREC_ACT_TANH, DYNREC_ACT_LEAKY_RELU}, {DYNREC_ACT_LEAKY_RELU, DYNREC_ACT_SIGMOID}};
    for (Dims d : {Dims{13, 11, 5}, Dims{67, 140, 17}}) {
        for (int64_t rows : test_rows()) {
            for (const Mode& mode : modes) {
                for (const auto& pair : pairs) {
                    const int32_t inner = pair[0], act = pair[1];
                    if (rows != 33 && !(inner == DYNREC_ACT_RELU && act == DYNREC_ACT_RELU)) continue;
                    // The larger shape: mf_k = 1 so k = 67 spans two 64-wide tiles.
                    const int64_t mf_k = d.n > 20 ? 1 : mode.mf_k, mf_p = mode.mf_p;
                    const std::string label = "apg_layer rows=" + std::to_string(rows) + " n=" + std::to_string(d.n) +
                                              " m=" + std::to_string(d.m) + " cond=" + std::to_string(d.cond) + " " +
                                              mode.name + " mf_k=" + std::to_string(mf_k) + " mf_p=" +
                                              std::to_string(mf_p) + " inner=" + activation_name(inner) +
                                              " act=" + activation_name(act);
                    for (const HyperPathCase& path_case : hyper_paths(dev)) {
                        const ScopedModeOverride path(CudaMode::kHyperPath, path_case.path);
                        r.run(label + path_case.suffix, [&](Case& c) {
                            const uint32_t seed = static_cast<uint32_t>(rows * 271 + d.n + mode.mf_p * 13 +
                                                                        mode.uv_shared * 5 + inner * 3 + act);
                            int64_t k = 0, p = 0, saved_n = 0;
                            c.call(dynrec_apg_layer_dims(d.n, d.m, mode.uv_shared, mf_k, mf_p, &k, &p),
                                   "dynrec_apg_layer_dims");
                            c.call(dynrec_apg_layer_saved_size(rows, d.n, d.m, mode.uv_shared, mf_k, mf_p, &saved_n),
                                   "dynrec_apg_layer_saved_size");
                            const std::vector<int64_t> sizes = apg_slot_sizes(d.n, d.m, d.cond, mode.uv_shared, k, p);
                            Host x = random_values(rows * d.n, seed);
                            Host z = random_values(rows * d.cond, seed + 1);
                            Host gy = random_values(rows * d.m, seed + 2);
                            std::vector<Host> host(kSlots);
                            const float* hp[kSlots] = {};
                            const float* dp[kSlots] = {};
                            for (int s = 0; s < kSlots; ++s) {
                                if (!sizes[s]) continue;
                                host[s] = random_values(sizes[s], seed + 10 + s, apg_slot_scale(s, d.n, d.cond, k, p, mode.uv_shared));
                                hp[s] = host[s].data();
                                dp[s] = c.buf.put(host[s]);
                            }

                            Host saved(saved_n), y(rows * d.m);
                            c.call(dynrec_apg_layer_forward_reference(
                                       rows, d.n, d.m, d.cond, mode.uv_shared, mf_k, mf_p, inner, act, x.data(), z.data(),
                                       hp[0], hp[1], hp[2], hp[3], hp[4], hp[5], hp[6], hp[7], hp[8], hp[9], hp[10],
                                       hp[11], hp[12], hp[13], hp[14], hp[15], hp[16], hp[17], hp[18], hp[19],
                                       saved.data(), y.data()),
                                   "dynrec_apg_layer_forward_reference");
                            Host gx(rows * d.n), gz(rows * d.cond);
                            std::vector<Host> hg(kSlots);
                            float* hgp[kSlots] = {};
                            for (int s = 0; s < kSlots; ++s)
                                if (sizes[s]) hg[s].resize(sizes[s]), hgp[s] = hg[s].data();
                            c.call(dynrec_apg_layer_backward_reference(
                                       rows, d.n, d.m, d.cond, mode.uv_shared, mf_k, mf_p, inner, act, x.data(), z.data(),
                                       hp[0], hp[2], hp[4], hp[5], hp[6], hp[8], hp[10], hp[12], hp[13], hp[14], hp[16],
                                       hp[17], hp[18], saved.data(), y.data(), gy.data(), gx.data(), gz.data(), hgp[0],
                                       hgp[1], hgp[2], hgp[3], hgp[4], hgp[5], hgp[6], hgp[7], hgp[8], hgp[9], hgp[10],
                                       hgp[11], hgp[12], hgp[13], hgp[14], hgp[15], hgp[16], hgp[17], hgp[18], hgp[19]),
                                   "dynrec_apg_layer_backward_reference");

                            float* dx = c.buf.put(x);
                            float* dz = c.buf.put(z);
                            int64_t ws = 0;
                            c.call(dynrec_apg_layer_workspace_size(dev, rows, d.n, d.m, d.cond, mode.uv_shared, mf_k,
                                                                   mf_p, &ws),
                                   "dynrec_apg_layer_workspace_size");
                            void* work = c.buf.scratch(ws);
                            float* d_saved = c.buf.out(saved_n);
                            float* d_y = c.buf.out(rows * d.m);
                            c.call(dynrec_apg_layer_forward(dev, nullptr, rows, d.n, d.m, d.cond, mode.uv_shared, mf_k,
                                                            mf_p, inner, act, dx, dz, dp[0], dp[1], dp[2], dp[3], dp[4],
                                                            dp[5], dp[6], dp[7], dp[8], dp[9], dp[10], dp[11], dp[12],
                                                            dp[13], dp[14], dp[15], dp[16], dp[17], dp[18], dp[19],
                                                            d_saved, d_y, work, ws),
                                   "dynrec_apg_layer_forward");
                            c.note("fwd");
                            c.compare("y", d_y, y, kTol);
                            c.compare("saved", d_saved, saved, kTol);

                            float* g_x = c.buf.out(rows * d.n);
                            float* g_z = c.buf.out(rows * d.cond);
                            float* dg[kSlots] = {};
                            for (int s = 0; s < kSlots; ++s)
                                if (sizes[s]) dg[s] = c.buf.out(sizes[s]);
                            c.call(dynrec_apg_layer_backward(
                                       dev, nullptr, rows, d.n, d.m, d.cond, mode.uv_shared, mf_k, mf_p, inner, act, dx,
                                       dz, dp[0], dp[2], dp[4], dp[5], dp[6], dp[8], dp[10], dp[12], dp[13], dp[14],
                                       dp[16], dp[17], dp[18], c.buf.put(saved), c.buf.put(y), c.buf.put(gy), g_x, g_z,
                                       dg[0], dg[1], dg[2], dg[3], dg[4], dg[5], dg[6], dg[7], dg[8], dg[9], dg[10],
                                       dg[11], dg[12], dg[13], dg[14], dg[15], dg[16], dg[17], dg[18], dg[19], work, ws),
                                   "dynrec_apg_layer_backward");
                            c.note("| bwd");
                            c.compare("grad_x", g_x, gx, kTol);
                            c.compare("grad_z", g_z, gz, kTol);
                            for (int s = 0; s < kSlots; ++s)
                                if (sizes[s]) c.compare((std::string("grad_") + kSlotNames[s]).c_str(), dg[s], hg[s], kTol);
                        });
                    }
                }
            }
        }
    }
}

}  // namespace dynrec::selftest
