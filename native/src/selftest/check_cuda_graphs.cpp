// Self-test of the CUDA graph cache (cuda/graph_cache.cuh) with graphs on for
// this thread: each op runs forward and backward four rounds on the SAME
// buffers, new data uploaded and the outputs re-poisoned before every round:
// round 0 runs eagerly (first sighting), round 1 captures and replays, round 2
// replays, round 3 changes one scalar argument (the activation) with every
// pointer unchanged, which must not replay the old graph. Every round is
// compared with the reference on that round's data, and the graph counters
// must show the captures and replays happened (a refused capture fails the
// case rather than passing eagerly).
#include <cmath>
#include <string>
#include <vector>

#include "common/math_mode.h"
#include "selftest/harness.h"

namespace dynrec::selftest {

namespace {

constexpr int kRounds = 4;
constexpr int kRepeatRounds = 2;  // rounds 1 and 2 replay the graph captured in round 1

// Tolerances as the ops' own checks.
constexpr Tolerance kApgTol{1e-4, 2e-2};
constexpr Tolerance kHyperTol{5e-5, 1e-2};
constexpr Tolerance kGatedTol{2e-5, 5e-3};

struct Counters {
    int64_t captured = 0, replayed = 0, failed = 0;
};

Counters counters(Case& c) {
    Counters k;
    c.call(dynrec_cuda_graph_counters(&k.captured, &k.replayed, &k.failed), "dynrec_cuda_graph_counters");
    return k;
}

// Both directions captured once and replayed in rounds 1 and 2, nothing refused.
void expect_graphs_used(Case& c, const Counters& before, const Counters& after) {
    c.note("| graphs");
    c.expect("captured", after.captured - before.captured >= 2);
    c.expect("replayed", after.replayed - before.replayed >= 2 * kRepeatRounds);
    c.expect("none_refused", after.failed == before.failed);
}

int32_t round_activation(int round, int32_t first, int32_t last) { return round + 1 < kRounds ? first : last; }

void graphs_apg_layer(Runner& r, const HyperPathCase& path_case) {
    r.run("graphs apg_layer rows=33 n=13 m=11 cond=5 generated NK/KM mf_k=2" + std::string(path_case.suffix),
          [&](Case& c) {
              const int32_t dev = c.device(), uv = 0, inner = DYNREC_ACT_RELU;
              const int64_t rows = 33, n = 13, m = 11, cond = 5, mf_k = 2, mf_p = 0;
              int64_t k = 0, p = 0, saved_n = 0, ws = 0;
              c.call(dynrec_apg_layer_dims(n, m, uv, mf_k, mf_p, &k, &p), "dynrec_apg_layer_dims");
              c.call(dynrec_apg_layer_saved_size(rows, n, m, uv, mf_k, mf_p, &saved_n), "dynrec_apg_layer_saved_size");
              c.call(dynrec_apg_layer_workspace_size(dev, rows, n, m, cond, uv, mf_k, mf_p, &ws),
                     "dynrec_apg_layer_workspace_size");
              const std::vector<int64_t> sizes = apg_slot_sizes(n, m, cond, uv, k, p);
              // Every buffer once: the rounds reuse the pointers.
              float* dx = c.buf.out(rows * n);
              float* dz = c.buf.out(rows * cond);
              float* dgy = c.buf.out(rows * m);
              float* d_saved_ref = c.buf.out(saved_n);
              float* d_y_ref = c.buf.out(rows * m);
              float* d_saved = c.buf.out(saved_n);
              float* d_y = c.buf.out(rows * m);
              float* g_x = c.buf.out(rows * n);
              float* g_z = c.buf.out(rows * cond);
              void* work = c.buf.scratch(ws);
              float* dp[kApgSlotCount] = {};
              float* dg[kApgSlotCount] = {};
              for (int s = 0; s < kApgSlotCount; ++s)
                  if (sizes[s]) dp[s] = c.buf.out(sizes[s]), dg[s] = c.buf.out(sizes[s]);

              const Counters before = counters(c);
              for (int round = 0; round < kRounds; ++round) {
                  const int32_t act = round_activation(round, DYNREC_ACT_SIGMOID, DYNREC_ACT_TANH);
                  const uint32_t seed = 7000u + 97u * static_cast<uint32_t>(round);
                  const Host x = random_values(rows * n, seed), z = random_values(rows * cond, seed + 1),
                             gy = random_values(rows * m, seed + 2);
                  std::vector<Host> hp(kApgSlotCount), hg(kApgSlotCount);
                  const float* hpp[kApgSlotCount] = {};
                  float* hgp[kApgSlotCount] = {};
                  for (int s = 0; s < kApgSlotCount; ++s) {
                      if (!sizes[s]) continue;
                      hp[s] = random_values(sizes[s], seed + 10 + s, apg_slot_scale(s, n, cond, k, p, uv));
                      hg[s].resize(sizes[s]);
                      hpp[s] = hp[s].data(), hgp[s] = hg[s].data();
                      c.buf.write(dp[s], hp[s]);
                      c.buf.poison(dg[s], sizes[s]);
                  }
                  Host saved(saved_n), y(rows * m), gx(rows * n), gz(rows * cond);
                  c.call(dynrec_apg_layer_forward_reference(
                             rows, n, m, cond, uv, mf_k, mf_p, inner, act, x.data(), z.data(), hpp[0], hpp[1], hpp[2],
                             hpp[3], hpp[4], hpp[5], hpp[6], hpp[7], hpp[8], hpp[9], hpp[10], hpp[11], hpp[12], hpp[13],
                             hpp[14], hpp[15], hpp[16], hpp[17], hpp[18], hpp[19], saved.data(), y.data()),
                         "dynrec_apg_layer_forward_reference");
                  c.call(dynrec_apg_layer_backward_reference(
                             rows, n, m, cond, uv, mf_k, mf_p, inner, act, x.data(), z.data(), hpp[0], hpp[2], hpp[4],
                             hpp[5], hpp[6], hpp[8], hpp[10], hpp[12], hpp[13], hpp[14], hpp[16], hpp[17], hpp[18],
                             saved.data(), y.data(), gy.data(), gx.data(), gz.data(), hgp[0], hgp[1], hgp[2], hgp[3],
                             hgp[4], hgp[5], hgp[6], hgp[7], hgp[8], hgp[9], hgp[10], hgp[11], hgp[12], hgp[13],
                             hgp[14], hgp[15], hgp[16], hgp[17], hgp[18], hgp[19]),
                         "dynrec_apg_layer_backward_reference");
                  c.buf.write(dx, x), c.buf.write(dz, z), c.buf.write(dgy, gy);
                  c.buf.write(d_saved_ref, saved), c.buf.write(d_y_ref, y);
                  c.buf.poison(d_saved, saved_n), c.buf.poison(d_y, rows * m);
                  c.buf.poison(g_x, rows * n), c.buf.poison(g_z, rows * cond);

                  c.call(dynrec_apg_layer_forward(dev, nullptr, rows, n, m, cond, uv, mf_k, mf_p, inner, act, dx, dz,
                                                  dp[0], dp[1], dp[2], dp[3], dp[4], dp[5], dp[6], dp[7], dp[8], dp[9],
                                                  dp[10], dp[11], dp[12], dp[13], dp[14], dp[15], dp[16], dp[17], dp[18],
                                                  dp[19], d_saved, d_y, work, ws),
                         "dynrec_apg_layer_forward");
                  c.call(dynrec_apg_layer_backward(dev, nullptr, rows, n, m, cond, uv, mf_k, mf_p, inner, act, dx, dz,
                                                   dp[0], dp[2], dp[4], dp[5], dp[6], dp[8], dp[10], dp[12], dp[13],
                                                   dp[14], dp[16], dp[17], dp[18], d_saved_ref, d_y_ref, dgy, g_x, g_z,
                                                   dg[0], dg[1], dg[2], dg[3], dg[4], dg[5], dg[6], dg[7], dg[8], dg[9],
                                                   dg[10], dg[11], dg[12], dg[13], dg[14], dg[15], dg[16], dg[17],
                                                   dg[18], dg[19], work, ws),
                         "dynrec_apg_layer_backward");
                  c.note("| round " + std::to_string(round) + " act=" + activation_name(act));
                  c.compare("y", d_y, y, kApgTol);
                  c.compare("saved", d_saved, saved, kApgTol);
                  c.compare("grad_x", g_x, gx, kApgTol);
                  c.compare("grad_z", g_z, gz, kApgTol);
                  for (int s = 0; s < kApgSlotCount; ++s)
                      if (sizes[s]) c.compare(("grad_slot" + std::to_string(s)).c_str(), dg[s], hg[s], kApgTol);
              }
              expect_graphs_used(c, before, counters(c));
          });
}

void graphs_hyper_linear(Runner& r, const HyperPathCase& path_case) {
    r.run("graphs hyper_linear rows=33 in=13 out=11 cond=5 g_b+c_w+c_b" + std::string(path_case.suffix),
          [&](Case& c) {
              const int32_t dev = c.device();
              const int64_t rows = 33, ni = 13, no = 11, nc = 5;
              int64_t ws = 0;
              c.call(dynrec_hyper_linear_workspace_size(dev, rows, ni, no, nc, 1, &ws),
                     "dynrec_hyper_linear_workspace_size");
              void* work = c.buf.scratch(ws);
              float *dx = c.buf.out(rows * ni), *dz = c.buf.out(rows * nc), *dgw = c.buf.out(ni * no * nc),
                    *dgb = c.buf.out(ni * no), *dcw = c.buf.out(no * nc), *dcb = c.buf.out(no);
              float *dy = c.buf.out(rows * no), *dy_ref = c.buf.out(rows * no), *dgy = c.buf.out(rows * no);
              float *g_x = c.buf.out(rows * ni), *g_z = c.buf.out(rows * nc), *g_gw = c.buf.out(ni * no * nc),
                    *g_gb = c.buf.out(ni * no), *g_cw = c.buf.out(no * nc), *g_cb = c.buf.out(no);

              const Counters before = counters(c);
              for (int round = 0; round < kRounds; ++round) {
                  const int32_t act = round_activation(round, DYNREC_ACT_RELU, DYNREC_ACT_TANH);
                  const uint32_t seed = 8000u + 89u * static_cast<uint32_t>(round);
                  const Host x = random_values(rows * ni, seed), z = random_values(rows * nc, seed + 1),
                             gw = random_values(ni * no * nc, seed + 2, 1.0f / std::sqrt(float(ni * nc))),
                             gb = random_values(ni * no, seed + 3, 1.0f / std::sqrt(float(ni))),
                             cw = random_values(no * nc, seed + 4, 0.5f), cb = random_values(no, seed + 5, 0.5f),
                             gy = random_values(rows * no, seed + 6);
                  Host y(rows * no), gx(rows * ni), gz(rows * nc), ggw(gw.size()), ggb(gb.size()), gcw(cw.size()),
                      gcb(cb.size());
                  c.call(dynrec_hyper_linear_forward_reference(rows, ni, no, nc, 1, x.data(), z.data(), gw.data(),
                                                               gb.data(), cw.data(), cb.data(), act, y.data()),
                         "dynrec_hyper_linear_forward_reference");
                  c.call(dynrec_hyper_linear_backward_reference(rows, ni, no, nc, 1, x.data(), z.data(), gw.data(),
                                                                gb.data(), cw.data(), act, y.data(), gy.data(),
                                                                gx.data(), gz.data(), ggw.data(), ggb.data(),
                                                                gcw.data(), gcb.data()),
                         "dynrec_hyper_linear_backward_reference");
                  c.buf.write(dx, x), c.buf.write(dz, z), c.buf.write(dgw, gw), c.buf.write(dgb, gb);
                  c.buf.write(dcw, cw), c.buf.write(dcb, cb), c.buf.write(dgy, gy), c.buf.write(dy_ref, y);
                  for (auto [ptr, count] : {std::pair<float*, int64_t>{dy, rows * no}, {g_x, rows * ni},
                                            {g_z, rows * nc}, {g_gw, ni * no * nc}, {g_gb, ni * no}, {g_cw, no * nc},
                                            {g_cb, no}})
                      c.buf.poison(ptr, count);

                  c.call(dynrec_hyper_linear_forward(dev, nullptr, rows, ni, no, nc, 1, dx, dz, dgw, dgb, dcw, dcb, act,
                                                     dy, work, ws),
                         "dynrec_hyper_linear_forward");
                  c.call(dynrec_hyper_linear_backward(dev, nullptr, rows, ni, no, nc, 1, dx, dz, dgw, dgb, dcw, act,
                                                      dy_ref, dgy, g_x, g_z, g_gw, g_gb, g_cw, g_cb, work, ws),
                         "dynrec_hyper_linear_backward");
                  c.note("| round " + std::to_string(round) + " act=" + activation_name(act));
                  c.compare("y", dy, y, kHyperTol);
                  c.compare("grad_x", g_x, gx, kHyperTol);
                  c.compare("grad_z", g_z, gz, kHyperTol);
                  c.compare("grad_g_w", g_gw, ggw, kHyperTol);
                  c.compare("grad_g_b", g_gb, ggb, kHyperTol);
                  c.compare("grad_c_w", g_cw, gcw, kHyperTol);
                  c.compare("grad_c_b", g_cb, gcb, kHyperTol);
              }
              expect_graphs_used(c, before, counters(c));
          });
}

void graphs_gated_linear(Runner& r) {
    r.run("graphs gated_linear rows=33 towers=3 in=13 out=11 gate=output x=shared", [&](Case& c) {
        const int32_t dev = c.device(), gate = DYNREC_GATE_OUTPUT, shared = 1;
        const int64_t T = 3, rows = 33, ni = 13, no = 11;
        int64_t ws = 0;
        c.call(dynrec_gated_linear_workspace_size(dev, T, rows, ni, no, gate, shared, &ws),
               "dynrec_gated_linear_workspace_size");
        void* work = c.buf.scratch(ws);
        float *dx = c.buf.out(rows * ni), *dw = c.buf.out(T * no * ni), *db = c.buf.out(T * no),
              *ddelta = c.buf.out(rows * T * no), *dgy = c.buf.out(T * rows * no);
        float *d_act = c.buf.out(T * rows * no), *d_y = c.buf.out(T * rows * no), *d_act_ref = c.buf.out(T * rows * no);
        float *g_x = c.buf.out(rows * ni), *g_w = c.buf.out(T * no * ni), *g_b = c.buf.out(T * no),
              *g_delta = c.buf.out(rows * T * no);

        const Counters before = counters(c);
        for (int round = 0; round < kRounds; ++round) {
            const int32_t act = round_activation(round, DYNREC_ACT_RELU, DYNREC_ACT_SIGMOID);
            const uint32_t seed = 9000u + 83u * static_cast<uint32_t>(round);
            const Host x = random_values(rows * ni, seed),
                       w = random_values(T * no * ni, seed + 1, 1.0f / std::sqrt(float(ni))),
                       b = random_values(T * no, seed + 2, 0.5f), gy = random_values(T * rows * no, seed + 4);
            Host delta = random_values(rows * T * no, seed + 3);
            for (auto& v : delta) v += 1.0f;  // a GateNU output lies in (0, 2)
            Host act_out(T * rows * no), y(T * rows * no), gx(rows * ni), gw(w.size()), gb(b.size()),
                gdelta(delta.size());
            c.call(dynrec_gated_linear_forward_reference(T, rows, ni, no, gate, act, shared, x.data(), w.data(),
                                                         b.data(), delta.data(), act_out.data(), y.data()),
                   "dynrec_gated_linear_forward_reference");
            c.call(dynrec_gated_linear_backward_reference(T, rows, ni, no, gate, act, shared, x.data(), w.data(),
                                                          delta.data(), act_out.data(), gy.data(), gx.data(),
                                                          gw.data(), gb.data(), gdelta.data()),
                   "dynrec_gated_linear_backward_reference");
            c.buf.write(dx, x), c.buf.write(dw, w), c.buf.write(db, b), c.buf.write(ddelta, delta);
            c.buf.write(dgy, gy), c.buf.write(d_act_ref, act_out);
            for (auto [ptr, count] : {std::pair<float*, int64_t>{d_act, T * rows * no}, {d_y, T * rows * no},
                                      {g_x, rows * ni}, {g_w, T * no * ni}, {g_b, T * no}, {g_delta, rows * T * no}})
                c.buf.poison(ptr, count);

            c.call(dynrec_gated_linear_forward(dev, nullptr, T, rows, ni, no, gate, act, shared, dx, dw, db, ddelta,
                                               d_act, d_y, work, ws),
                   "dynrec_gated_linear_forward");
            c.call(dynrec_gated_linear_backward(dev, nullptr, T, rows, ni, no, gate, act, shared, dx, dw, ddelta,
                                                d_act_ref, dgy, g_x, g_w, g_b, g_delta, work, ws),
                   "dynrec_gated_linear_backward");
            c.note("| round " + std::to_string(round) + " act=" + activation_name(act));
            c.compare("y", d_y, y, kGatedTol);
            c.compare("act_out", d_act, act_out, kGatedTol);
            c.compare("grad_x", g_x, gx, kGatedTol);
            c.compare("grad_w", g_w, gw, kGatedTol);
            c.compare("grad_b", g_b, gb, kGatedTol);
            c.compare("grad_delta", g_delta, gdelta, kGatedTol);
        }
        expect_graphs_used(c, before, counters(c));
    });
}

}  // namespace

void check_cuda_graphs(Runner& r) {
    if (r.device() != DYNREC_DEVICE_CUDA) return;  // a CUDA feature
    const ScopedModeOverride graphs(CudaMode::kGraphs, 1);
    for (const HyperPathCase& path_case : hyper_paths(r.device())) {
        const ScopedModeOverride path(CudaMode::kHyperPath, path_case.path);
        graphs_apg_layer(r, path_case);
        graphs_hyper_linear(r, path_case);
    }
    graphs_gated_linear(r);
}

}  // namespace dynrec::selftest
