// Self-test of the multi-tensor Adam / AdamW step (op "adam"): optimized (CPU
// or CUDA) vs the reference loop, on several tensors of odd sizes in one
// call; Adam and AdamW with weight decay, clipping by the global norm off,
// active and inactive (norm computed, clip = 1), step 1 from zero moments and
// a later step from non-zero moments. The step updates params and moments in
// place: both sides start from identical copies.
#include <cmath>
#include <string>
#include <vector>

#include "selftest/harness.h"

namespace dynrec::selftest {

namespace {
// Elementwise float32 math with double scalar factors on both paths; only FMA
// contraction and the order of the (double) norm reduction differ: a few ulps.
// No GEMM: TF32 does not apply, same limit in both modes.
constexpr Tolerance kTol{1e-6, 1e-6};
// The update itself (params after - before, ~lr), relative to its own largest
// element: one ulp of a param is ~1e-5 of an lr = 1e-2 step.
constexpr Tolerance kTolUpdate{5e-5, 5e-5};

const std::vector<int64_t> kNumels{1, 7, 1000, 4099};

struct Clip {
    const char* name;
    double max_norm;  // grads are U(-1, 1): global norm ~41
};

Host concat(const std::vector<Host>& parts) {
    Host all;
    for (const Host& p : parts) all.insert(all.end(), p.begin(), p.end());
    return all;
}

Host minus(const Host& a, const Host& b) {
    Host d(a.size());
    for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
    return d;
}
}  // namespace

void check_adam(Runner& r) {
    const int32_t dev = r.device();
    const int64_t n = static_cast<int64_t>(kNumels.size());
    std::string sizes;
    for (int64_t k : kNumels) sizes += (sizes.empty() ? "" : "+") + std::to_string(k);
    for (int32_t decoupled : {0, 1}) {
        for (const Clip clip : {Clip{"off", 0.0}, Clip{"on", 1.0}, Clip{"inactive", 1e3}}) {
            for (int64_t step : {int64_t(1), int64_t(5)}) {
                const std::string label = std::string("adam tensors=") + std::to_string(n) + " numel=" + sizes +
                                          (decoupled ? " adamw" : " adam") + " wd=0.1 clip=" + clip.name +
                                          " step=" + std::to_string(step);
                r.run(label, [&](Case& c) {
                    const uint32_t seed = static_cast<uint32_t>(decoupled * 1000 + clip.max_norm + step * 31);
                    const double lr = 1e-2, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, wd = 0.1;
                    std::vector<Host> p, g, m, v;
                    for (int64_t i = 0; i < n; ++i) {
                        const int64_t k = kNumels[i];
                        const uint32_t s = seed + static_cast<uint32_t>(i) * 8;
                        p.push_back(random_values(k, s));
                        g.push_back(random_values(k, s + 1));
                        if (step == 1) {  // fresh moments, as the first step sees them
                            m.emplace_back(static_cast<size_t>(k), 0.0f);
                            v.emplace_back(static_cast<size_t>(k), 0.0f);
                        } else {
                            m.push_back(random_values(k, s + 2, 0.1f));
                            Host sq = random_values(k, s + 3, 0.1f);
                            for (float& x : sq) x *= x;  // v >= 0
                            v.push_back(sq);
                        }
                    }

                    // Reference on host copies.
                    std::vector<Host> p_ref = p, m_ref = m, v_ref = v;
                    std::vector<float*> rp, rm, rv;
                    std::vector<const float*> rg;
                    for (int64_t i = 0; i < n; ++i) {
                        rp.push_back(p_ref[i].data());
                        rg.push_back(g[i].data());
                        rm.push_back(m_ref[i].data());
                        rv.push_back(v_ref[i].data());
                    }
                    float norm_ref = std::nanf("");
                    c.call(dynrec_adam_step_reference(n, rp.data(), rg.data(), rm.data(), rv.data(), kNumels.data(),
                                                      lr, beta1, beta2, eps, wd, decoupled, step, clip.max_norm,
                                                      &norm_ref),
                           "dynrec_adam_step_reference");

                    // Optimized path: HOST arrays of pointers into device memory.
                    std::vector<float*> dp, dm, dv;
                    std::vector<const float*> dg;
                    for (int64_t i = 0; i < n; ++i) {
                        dp.push_back(c.buf.put(p[i]));
                        dg.push_back(c.buf.put(g[i]));
                        dm.push_back(c.buf.put(m[i]));
                        dv.push_back(c.buf.put(v[i]));
                    }
                    float* dnorm = c.buf.out(1);
                    int64_t ws = 0;
                    c.call(dynrec_adam_workspace_size(dev, n, kNumels.data(), &ws), "dynrec_adam_workspace_size");
                    void* work = c.buf.scratch(ws);
                    c.call(dynrec_adam_step(dev, nullptr, n, dp.data(), dg.data(), dm.data(), dv.data(),
                                            kNumels.data(), lr, beta1, beta2, eps, wd, decoupled, step, clip.max_norm,
                                            dnorm, work, ws),
                           "dynrec_adam_step");

                    std::vector<Host> p_got, m_got, v_got, g_got;
                    for (int64_t i = 0; i < n; ++i) {
                        p_got.push_back(c.buf.get(dp[i], kNumels[i]));
                        m_got.push_back(c.buf.get(dm[i], kNumels[i]));
                        v_got.push_back(c.buf.get(dv[i], kNumels[i]));
                        g_got.push_back(c.buf.get(dg[i], kNumels[i]));
                    }
                    const Host p0 = concat(p), p_want = concat(p_ref), p_all = concat(p_got);
                    c.compare("params", p_all, p_want, kTol);
                    c.compare("update", minus(p_all, p0), minus(p_want, p0), kTolUpdate);
                    c.compare("exp_avg", concat(m_got), concat(m_ref), kTol);
                    c.compare("exp_avg_sq", concat(v_got), concat(v_ref), kTol);
                    c.compare("grads", concat(g_got), concat(g), Tolerance{0.0, 0.0});  // not modified
                    const Host norm_got = c.buf.get(dnorm, 1);
                    if (clip.max_norm > 0.0)
                        c.compare("grad_norm", norm_got, Host{norm_ref}, kTol);
                    else  // written only when clipping
                        c.expect("grad_norm unwritten", std::isnan(norm_got[0]) && std::isnan(norm_ref));
                });
            }
        }
    }
}

}  // namespace dynrec::selftest
