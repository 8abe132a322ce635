// Self-test of the table-batched embedding (op "tbe"): optimized (CPU or
// CUDA) vs the reference loops, forward and backward fused with each sparse
// optimizer. One layout covers: odd row counts and dims (3, 5, 8, 17),
// tables out of offset order with gaps, a table that is only its padding row,
// several fields per table, bags of 1..7, every pooling mode, padding id 0,
// an all-padding MEAN bag and duplicate ids (within a bag, across bags of one
// field and across fields), so the update's summing of duplicates is checked.
// backward_update mutates weights and state in place: both sides start from
// identical copies and everything it may write is compared afterwards. The
// tables variant (op "tbe" too) runs the layout over one buffer per table.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "selftest/harness.h"

namespace dynrec::selftest {

namespace {
// Forward sums a bag in slot order like the reference; MEAN divides the same
// way. Only FMA contraction / vectorization of the per-element math can
// differ, so outputs and the updated weights/state agree to a few ulps.
// No GEMM: TF32 does not apply, same limit in both modes.
constexpr Tolerance kTol{1e-6, 1e-6};
// The update itself (weights after - before, ~lr), relative to its own
// largest element: duplicates are summed in the same fixed order, but FMA
// contraction differs per path (one ulp of a weight is ~1e-5 of a 1e-2 step),
// and Adagrad's row sum of g^2 (its state) is a warp tree on CUDA.
constexpr Tolerance kTolUpdate{2e-5, 2e-5};

// The layout (host arrays for every device).
const HostIds kRows{7, 33, 101, 1};  // table 3: only the padding row
const HostIds kDims{3, 17, 8, 5};
// Out of table order and with gaps (not overwritten: compared too).
const HostIds kOffsets{1373, 0, 565, 1396};
constexpr int64_t kNumel = 1403;
constexpr int64_t kTotalRows = 7 + 33 + 101 + 1;
const HostIds kFieldTable{0, 1, 0, 2, 1, 2, 3};
const HostIds kBags{1, 3, 5, 4, 2, 7, 1};
const std::vector<int32_t> kPooling{DYNREC_POOLING_SUM,  DYNREC_POOLING_MEAN, DYNREC_POOLING_NONE,
                                    DYNREC_POOLING_SUM,  DYNREC_POOLING_NONE, DYNREC_POOLING_MEAN,
                                    DYNREC_POOLING_MEAN};
constexpr int64_t kTables = 4, kFields = 7;

struct Optimizer {
    const char* name;
    int32_t kind;
    int64_t step;
    bool warm_state;  // start from non-zero state (a later step)
    bool row_steps;   // lazy Adam with per-row step counts
};

Host minus(const Host& a, const Host& b) {
    Host d(a.size());
    for (size_t i = 0; i < a.size(); ++i) d[i] = a[i] - b[i];
    return d;
}

// ids [batch, S]: ~20% padding, the rest uniform over the table's rows 1..rows-1,
// plus fixed duplicates and an all-padding MEAN bag.
HostIds make_ids(int64_t batch, int64_t slots, uint32_t seed) {
    const Host pad = random_values(batch * slots, seed);
    const Host pick = random_values(batch * slots, seed + 1);
    std::vector<int64_t> slot_field, slot_begin;
    for (int64_t f = 0; f < kFields; ++f) {
        slot_begin.push_back(static_cast<int64_t>(slot_field.size()));
        for (int64_t s = 0; s < kBags[f]; ++s) slot_field.push_back(f);
    }
    HostIds ids(static_cast<size_t>(batch * slots));
    for (int64_t k = 0; k < batch * slots; ++k) {
        const int64_t rows = kRows[kFieldTable[slot_field[k % slots]]];
        if (rows == 1 || pad[k] < -0.6f) continue;  // id 0
        const auto r = static_cast<int64_t>((pick[k] + 1.0f) * 0.5f * float(rows - 1));
        ids[k] = 1 + std::min(r, rows - 2);
    }
    int64_t* s0 = ids.data();
    s0[slot_begin[2] + 0] = s0[slot_begin[2] + 1] = 5;  // duplicate inside a NONE bag (table 0)
    s0[slot_begin[0]] = 5;                              // same row from another field (table 0)
    s0[slot_begin[3] + 2] = 0;                          // padding inside a SUM bag
    s0[slot_begin[3] + 0] = s0[slot_begin[5] + 3] = 77;  // table 2, two fields
    s0[slot_begin[5] + 4] = 77;                          // and twice in a MEAN bag
    if (batch > 1) {
        int64_t* last = ids.data() + (batch - 1) * slots;
        for (int64_t s = 0; s < kBags[5]; ++s) last[slot_begin[5] + s] = 0;  // all-padding MEAN bag
        last[slot_begin[1]] = s0[slot_begin[1] + 2] = 9;                     // table 1 row in two samples
    }
    return ids;
}
}  // namespace

void check_embedding_bag(Runner& r) {
    const int32_t dev = r.device();
    const Optimizer optimizers[] = {
        {"sgd", DYNREC_SPARSE_SGD, 1, false, false},
        {"rowwise_adagrad", DYNREC_SPARSE_ROWWISE_ADAGRAD, 1, true, false},
        {"lazy_adam step=1", DYNREC_SPARSE_LAZY_ADAM, 1, false, false},
        {"lazy_adam step=4", DYNREC_SPARSE_LAZY_ADAM, 4, true, false},
        {"lazy_adam row_steps", DYNREC_SPARSE_LAZY_ADAM, 1, true, true},
    };
    for (int64_t batch : test_rows()) {
        for (const Optimizer& o : optimizers) {
            const std::string label = "tbe rows=" + std::to_string(batch) + " tables=" + std::to_string(kTables) +
                                      " fields=" + std::to_string(kFields) + " opt=" + o.name;
            r.run(label, [&](Case& c) {
                const uint32_t seed = static_cast<uint32_t>(batch * 97 + o.kind * 7 + o.step + o.row_steps);
                int64_t width = 0;
                c.call(dynrec_tbe_output_width(kTables, kDims.data(), kFields, kFieldTable.data(), kBags.data(),
                                               kPooling.data(), &width),
                       "dynrec_tbe_output_width");
                int64_t slots = 0;
                for (int64_t b : kBags) slots += b;
                const HostIds ids = make_ids(batch, slots, seed);
                const Host weights = random_values(kNumel, seed + 2);
                const Host grad_out = random_values(batch * width, seed + 3);
                const bool adam = o.kind == DYNREC_SPARSE_LAZY_ADAM;
                const int64_t n1 = adam ? kNumel : o.kind == DYNREC_SPARSE_ROWWISE_ADAGRAD ? kTotalRows : 0;
                const int64_t n2 = adam ? kNumel : 0;
                Host state1(static_cast<size_t>(n1), 0.0f), state2(static_cast<size_t>(n2), 0.0f);
                HostIds steps(o.row_steps ? static_cast<size_t>(kTotalRows) : 0);
                if (o.warm_state) {
                    const Host a = random_values(n1, seed + 4, 0.3f), b = random_values(n2, seed + 5, 0.3f);
                    for (int64_t i = 0; i < n1; ++i)  // Adagrad sums are >= 0; Adam's m is signed
                        state1[i] = adam ? a[i] : std::fabs(a[i]) + 0.01f;
                    for (int64_t i = 0; i < n2; ++i) state2[i] = b[i] * b[i];  // v >= 0
                    for (size_t i = 0; i < steps.size(); ++i) steps[i] = int64_t(i % 5);  // 0 = never touched
                }
                const float lr = adam ? 0.01f : 0.05f, eps = adam ? 1e-8f : 1e-6f, beta1 = 0.9f, beta2 = 0.999f;

                Host out(static_cast<size_t>(batch * width));
                c.call(dynrec_tbe_forward_reference(kTables, kRows.data(), kDims.data(), kOffsets.data(), kFields,
                                                    kFieldTable.data(), kBags.data(), kPooling.data(), weights.data(),
                                                    kNumel, batch, ids.data(), out.data()),
                       "dynrec_tbe_forward_reference");
                Host w_ref = weights, s1_ref = state1, s2_ref = state2;
                HostIds steps_ref = steps;
                c.call(dynrec_tbe_backward_update_reference(
                           kTables, kRows.data(), kDims.data(), kOffsets.data(), kFields, kFieldTable.data(),
                           kBags.data(), kPooling.data(), w_ref.data(), kNumel, batch, ids.data(), grad_out.data(),
                           o.kind, lr, eps, beta1, beta2, o.step, n1 ? s1_ref.data() : nullptr,
                           n2 ? s2_ref.data() : nullptr, o.row_steps ? steps_ref.data() : nullptr),
                       "dynrec_tbe_backward_update_reference");

                int64_t ws = 0;
                c.call(dynrec_tbe_workspace_size(dev, kTables, kFields, kBags.data(), batch, &ws),
                       "dynrec_tbe_workspace_size");
                void* work = c.buf.scratch(ws);
                float* dw = c.buf.put(weights);
                const int64_t* dids = c.buf.put_ids(ids);
                float* dout = c.buf.out(batch * width);
                c.call(dynrec_tbe_forward(dev, nullptr, kTables, kRows.data(), kDims.data(), kOffsets.data(), kFields,
                                          kFieldTable.data(), kBags.data(), kPooling.data(), dw, kNumel, batch, dids,
                                          dout, work, ws),
                       "dynrec_tbe_forward");
                c.note("fwd");
                c.compare("out", dout, out, kTol);

                float* ds1 = n1 ? c.buf.put(state1) : nullptr;
                float* ds2 = n2 ? c.buf.put(state2) : nullptr;
                int64_t* dsteps = o.row_steps ? c.buf.put_ids(steps) : nullptr;
                c.call(dynrec_tbe_backward_update(dev, nullptr, kTables, kRows.data(), kDims.data(), kOffsets.data(),
                                                  kFields, kFieldTable.data(), kBags.data(), kPooling.data(), dw,
                                                  kNumel, batch, dids, c.buf.put(grad_out), o.kind, lr, eps, beta1,
                                                  beta2, o.step, ds1, ds2, dsteps, work, ws),
                       "dynrec_tbe_backward_update");
                c.note("| bwd+update");
                const Host w_got = c.buf.get(dw, kNumel);
                c.compare("weights", w_got, w_ref, kTol);
                c.compare("update", minus(w_got, weights), minus(w_ref, weights), kTolUpdate);
                if (n1) c.compare(adam ? "exp_avg" : "sum_sq", ds1, s1_ref, adam ? kTol : kTolUpdate);
                if (n2) c.compare("exp_avg_sq", ds2, s2_ref, kTol);
                if (o.row_steps) c.compare_exact("row_steps", dsteps, steps_ref);
                c.compare_exact("ids", dids, ids);  // const input left alone
            });
        }
        // The same layout over tables allocated apart (dynrec_tbe_tables_*): each table its own
        // buffer, the backward adding into gradient tables that already hold values.
        r.run("tbe_tables rows=" + std::to_string(batch) + " tables=" + std::to_string(kTables) +
                  " fields=" + std::to_string(kFields),
              [&](Case& c) {
                  const uint32_t seed = static_cast<uint32_t>(batch * 89 + 5);
                  int64_t width = 0, slots = 0;
                  c.call(dynrec_tbe_output_width(kTables, kDims.data(), kFields, kFieldTable.data(), kBags.data(),
                                                 kPooling.data(), &width),
                         "dynrec_tbe_output_width");
                  for (int64_t b : kBags) slots += b;
                  const HostIds ids = make_ids(batch, slots, seed);
                  const Host grad_out = random_values(batch * width, seed + 3);
                  std::vector<Host> tables, grads;
                  std::vector<const float*> host_tables;
                  std::vector<float*> host_grads, dev_grads;
                  std::vector<const float*> dev_tables;
                  for (int64_t t = 0; t < kTables; ++t) {
                      tables.push_back(random_values(kRows[t] * kDims[t], seed + 10 + uint32_t(t)));
                      grads.push_back(random_values(kRows[t] * kDims[t], seed + 20 + uint32_t(t)));
                  }
                  for (int64_t t = 0; t < kTables; ++t) {
                      dev_tables.push_back(c.buf.put(tables[t]));
                      dev_grads.push_back(c.buf.put(grads[t]));
                  }
                  Host out(static_cast<size_t>(batch * width));
                  for (auto& t : tables) host_tables.push_back(t.data());
                  c.call(dynrec_tbe_tables_forward_reference(kTables, kRows.data(), kDims.data(), host_tables.data(),
                                                             kFields, kFieldTable.data(), kBags.data(), kPooling.data(),
                                                             batch, ids.data(), out.data()),
                         "dynrec_tbe_tables_forward_reference");
                  for (auto& g : grads) host_grads.push_back(g.data());
                  c.call(dynrec_tbe_tables_backward_reference(kTables, kRows.data(), kDims.data(), kFields,
                                                              kFieldTable.data(), kBags.data(), kPooling.data(), batch,
                                                              ids.data(), grad_out.data(), host_grads.data()),
                         "dynrec_tbe_tables_backward_reference");

                  int64_t ws = 0;
                  c.call(dynrec_tbe_workspace_size(dev, kTables, kFields, kBags.data(), batch, &ws),
                         "dynrec_tbe_workspace_size");
                  void* work = c.buf.scratch(ws);
                  const int64_t* dids = c.buf.put_ids(ids);
                  float* dout = c.buf.out(batch * width);
                  c.call(dynrec_tbe_tables_forward(dev, nullptr, kTables, kRows.data(), kDims.data(),
                                                   dev_tables.data(), kFields, kFieldTable.data(), kBags.data(),
                                                   kPooling.data(), batch, dids, dout, work, ws),
                         "dynrec_tbe_tables_forward");
                  c.note("fwd");
                  c.compare("out", dout, out, kTol);
                  c.call(dynrec_tbe_tables_backward(dev, nullptr, kTables, kRows.data(), kDims.data(), kFields,
                                                    kFieldTable.data(), kBags.data(), kPooling.data(), batch, dids,
                                                    c.buf.put(grad_out), dev_grads.data(), work, ws),
                         "dynrec_tbe_tables_backward");
                  c.note("| bwd");
                  for (int64_t t = 0; t < kTables; ++t)
                      c.compare(("grad_table" + std::to_string(t)).c_str(), dev_grads[t], grads[t], kTol);
                  for (int64_t t = 0; t < kTables; ++t)
                      c.compare(("table" + std::to_string(t)).c_str(), dev_tables[t], tables[t], Tolerance{0, 0});
              });
    }
}

}  // namespace dynrec::selftest
