// TBE optimized on the CPU.
// Forward: samples split across threads (parallel_for), each bag summed in
// slot order straight into its output columns.
// Backward (+ update): the non-padding occurrences become (global row, flat
// position) keys, radix-sorted by row (stable, so duplicates of a row stay
// in sample/slot order); each run of equal rows is
// one segment, and segments are split across threads. A segment sums its
// gradient in a thread-local buffer in that fixed order and then applies the
// optimizer to its row once: no atomics, bitwise deterministic for any
// thread count, and O(occurrences * (dim + radix passes)) work, independent
// of the vocabulary.
// Tables backward: each occurrence is added straight into its row's gradient
// in sample/slot order. The tables are split across threads (each scans the
// batch for its own fields: no sort); only when one table outweighs the rest
// are the rows split instead, through the same sorted segments.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "cpu/embedding_bag.h"
#include "cpu/parallel.h"
#include "dynrec/dynrec.h"

namespace dynrec::cpu {

void tbe_forward(const TbePlan& p, const float* const* tables, int64_t batch, const int64_t* ids, float* out) {
    parallel_for(0, batch, 16, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) {
            for (int64_t f = 0; f < p.num_fields; ++f) {
                const int64_t t = p.table[f], dim = p.dims[t], bag_size = p.bag[f];
                const float* table = tables[t];
                float* o = out + b * p.width + p.col_begin[f];
                const int64_t* bag = ids + b * p.slots + p.slot_begin[f];
                if (p.pooling[f] == DYNREC_POOLING_NONE) {
                    for (int64_t s = 0; s < bag_size; ++s) {
                        float* os = o + s * dim;
                        if (bag[s] == 0 && !p.none_reads_padding_row) {
                            std::fill(os, os + dim, 0.0f);
                        } else {
                            const float* w = table + bag[s] * dim;
                            std::copy(w, w + dim, os);
                        }
                    }
                    continue;
                }
                std::fill(o, o + dim, 0.0f);
                int64_t count = 0;
                for (int64_t s = 0; s < bag_size; ++s) {
                    if (bag[s] == 0) continue;
                    ++count;
                    const float* w = table + bag[s] * dim;
                    for (int64_t j = 0; j < dim; ++j) o[j] += w[j];
                }
                if (p.pooling[f] == DYNREC_POOLING_MEAN) {
                    if (count == 0) continue;
                    const float c = float(count);
                    for (int64_t j = 0; j < dim; ++j) o[j] = o[j] / c;
                }
            }
        }
    });
}

namespace {

// lr * sqrt(bc2) / bc1 of lazy Adam at step k (rounded once to float).
float adam_step_size(const SparseOptimizer& opt, int64_t k) {
    const double bc1 = 1.0 - std::pow(double(opt.beta1), double(k));
    const double bc2 = 1.0 - std::pow(double(opt.beta2), double(k));
    return float(double(opt.lr) * std::sqrt(bc2) / bc1);
}

// `shared_step_size`: lazy Adam's step size when every row uses the table-wide step.
void apply_row(const TbePlan& p, const SparseOptimizer& opt, float shared_step_size, float* weights, int64_t t,
               int64_t grow, const float* g) {
    const int64_t dim = p.dims[t];
    const int64_t e = p.offsets[t] + (grow - p.row_base[t]) * dim;
    float* w = weights + e;
    if (opt.kind == DYNREC_SPARSE_SGD) {
        for (int64_t j = 0; j < dim; ++j) w[j] -= opt.lr * g[j];
    } else if (opt.kind == DYNREC_SPARSE_ROWWISE_ADAGRAD) {
        float sq = 0.0f;
        for (int64_t j = 0; j < dim; ++j) sq += g[j] * g[j];
        opt.state1[grow] += sq / float(dim);
        const float denom = std::sqrt(opt.state1[grow]) + opt.eps;
        for (int64_t j = 0; j < dim; ++j) w[j] -= opt.lr * g[j] / denom;
    } else {
        const float step_size = opt.row_steps ? adam_step_size(opt, ++opt.row_steps[grow]) : shared_step_size;
        float* m = opt.state1 + e;
        float* v = opt.state2 + e;
        const float b1 = opt.beta1, b2 = opt.beta2, c1 = 1.0f - opt.beta1, c2 = 1.0f - opt.beta2;
        for (int64_t j = 0; j < dim; ++j) {
            m[j] = b1 * m[j] + c1 * g[j];
            v[j] = b2 * v[j] + c2 * g[j] * g[j];
            w[j] -= step_size * (m[j] / (std::sqrt(v[j]) + opt.eps));
        }
    }
}

// Stable LSD radix sort of (row, position) pairs by row (rows < max_row + 1),
// 11 bits per pass: O(n) per pass, as many passes as the row count needs.
void radix_sort_by_row(std::vector<std::pair<int64_t, int64_t>>& v, std::vector<std::pair<int64_t, int64_t>>& tmp,
                       int64_t max_row) {
    constexpr int kBits = 11;
    constexpr size_t kBuckets = size_t(1) << kBits;
    tmp.resize(v.size());
    std::vector<size_t> count(kBuckets);
    for (int shift = 0; shift < 63 && (max_row >> shift) != 0; shift += kBits) {
        std::fill(count.begin(), count.end(), 0);
        for (const auto& e : v) ++count[(uint64_t(e.first) >> shift) & (kBuckets - 1)];
        size_t sum = 0;
        for (auto& c : count) {
            const size_t n = c;
            c = sum;
            sum += n;
        }
        for (const auto& e : v) tmp[count[(uint64_t(e.first) >> shift) & (kBuckets - 1)]++] = e;
        v.swap(tmp);
    }
}

// The sorted occurrences of a batch's non-padding ids: keys[heads[k] .. heads[k+1]) are the
// (global row, flat position) pairs of segment k, one row, in sample/slot order.
struct Segments {
    std::vector<std::pair<int64_t, int64_t>> keys;
    std::vector<int64_t> heads;
    std::vector<float> scale;  // per (sample, field): 1, or 1/count for MEAN
    int64_t count() const { return static_cast<int64_t>(heads.size()) - 1; }
};

Segments segments_of(const TbePlan& p, int64_t batch, const int64_t* ids) {
    const int64_t F = p.num_fields, S = p.slots;
    Segments sg;
    sg.scale.resize(static_cast<size_t>(batch * F));
    parallel_for(0, batch, 256, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b)
            for (int64_t f = 0; f < F; ++f) {
                float s = 1.0f;
                if (p.pooling[f] == DYNREC_POOLING_MEAN) {
                    int64_t count = 0;
                    const int64_t* bag = ids + b * S + p.slot_begin[f];
                    for (int64_t k = 0; k < p.bag[f]; ++k) count += bag[k] != 0;
                    s = 1.0f / float(count > 0 ? count : 1);
                }
                sg.scale[b * F + f] = s;
            }
    });
    // (global row, flat position) of every non-padding occurrence, in
    // position order; a stable LSD radix sort on the row then groups equal
    // rows while keeping their occurrences in sample/slot order.
    std::vector<std::pair<int64_t, int64_t>> tmp;
    sg.keys.reserve(static_cast<size_t>(batch * S));
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t s = 0; s < S; ++s) {
            const int64_t id = ids[b * S + s];
            if (id != 0) sg.keys.emplace_back(p.row_base[p.table[p.slot_field[s]]] + id, b * S + s);
        }
    radix_sort_by_row(sg.keys, tmp, p.total_rows);
    for (size_t i = 0; i < sg.keys.size(); ++i)
        if (i == 0 || sg.keys[i].first != sg.keys[i - 1].first) sg.heads.push_back(static_cast<int64_t>(i));
    sg.heads.push_back(static_cast<int64_t>(sg.keys.size()));
    return sg;
}

// Sums each segment's gradient in its fixed order into a thread-local row and hands it to
// row_done(table, global row, gradient), segments split across threads; prefetch(segment)
// is called a few segments ahead (the rows are scattered over big tables).
template <class Prefetch, class RowDone>
void for_each_row_gradient(const TbePlan& p, const Segments& sg, const float* grad_out, const Prefetch& prefetch,
                           const RowDone& row_done) {
    const int64_t F = p.num_fields, S = p.slots;
    constexpr int64_t kAhead = 8;
    parallel_for(0, sg.count(), 64, [&](int64_t s0, int64_t s1) {
        std::vector<float> g(static_cast<size_t>(p.max_dim));
        for (int64_t seg = s0; seg < s1; ++seg) {
            if (seg + kAhead < s1) prefetch(seg + kAhead);
            const int64_t first = sg.heads[seg], last = sg.heads[seg + 1];
            const int64_t f0 = p.slot_field[sg.keys[first].second % S];
            const int64_t t = p.table[f0], dim = p.dims[t];
            std::fill(g.begin(), g.begin() + dim, 0.0f);
            for (int64_t i = first; i < last; ++i) {
                const int64_t k = sg.keys[i].second, b = k / S, slot = k % S, f = p.slot_field[slot];
                const float* go = grad_out + b * p.width + p.col_begin[f] +
                                  (p.pooling[f] == DYNREC_POOLING_NONE ? (slot - p.slot_begin[f]) * dim : 0);
                const float sc = sg.scale[b * F + f];
                for (int64_t j = 0; j < dim; ++j) g[j] += go[j] * sc;
            }
            row_done(t, sg.keys[first].first, g.data());
        }
    });
}

}  // namespace

void tbe_backward_update(const TbePlan& p, float* weights, int64_t batch, const int64_t* ids, const float* grad_out,
                         const SparseOptimizer& opt) {
    const Segments sg = segments_of(p, batch, ids);
    const float shared_step_size =
        opt.kind == DYNREC_SPARSE_LAZY_ADAM && !opt.row_steps ? adam_step_size(opt, opt.step) : 0.0f;
    auto prefetch = [&](int64_t seg) {
        const int64_t grow = sg.keys[sg.heads[seg]].first;
        const int64_t t = p.table[p.slot_field[sg.keys[sg.heads[seg]].second % p.slots]];
        const int64_t e = p.offsets[t] + (grow - p.row_base[t]) * p.dims[t];
        __builtin_prefetch(weights + e, 1);
        if (opt.state1 && opt.kind == DYNREC_SPARSE_LAZY_ADAM) {
            __builtin_prefetch(opt.state1 + e, 1);
            __builtin_prefetch(opt.state2 + e, 1);
        }
    };
    for_each_row_gradient(p, sg, grad_out, prefetch, [&](int64_t t, int64_t grow, const float* g) {
        apply_row(p, opt, shared_step_size, weights, t, grow, g);
    });
}

namespace {

// Groups of tables with about equal occurrence counts (longest first, each to the lightest group), one per
// thread; empty when one table alone outweighs a fair share by half (then rows, not tables, are split).
std::vector<std::vector<int64_t>> table_groups(const TbePlan& p, int threads) {
    std::vector<int64_t> weight(static_cast<size_t>(p.num_tables), 0);
    for (int64_t f = 0; f < p.num_fields; ++f) weight[p.table[f]] += p.bag[f] * p.dims[p.table[f]];
    int64_t total = 0, heaviest = 0;
    for (int64_t w : weight) total += w, heaviest = std::max(heaviest, w);
    const int groups = static_cast<int>(std::min<int64_t>(threads, p.num_tables));
    if (groups > 1 && 2 * heaviest * groups > 3 * total) return {};
    std::vector<int64_t> order(static_cast<size_t>(p.num_tables));
    for (int64_t t = 0; t < p.num_tables; ++t) order[t] = t;
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return weight[a] > weight[b]; });
    std::vector<std::vector<int64_t>> g(static_cast<size_t>(std::max(groups, 1)));
    std::vector<int64_t> load(g.size(), 0);
    for (int64_t t : order) {
        const size_t k = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
        g[k].push_back(t);
        load[k] += weight[t];
    }
    return g;
}

}  // namespace

void tbe_backward_accumulate(const TbePlan& p, int64_t batch, const int64_t* ids, const float* grad_out,
                             float* const* grad_tables) {
    // Every row's occurrences are added in sample/slot order by one thread, whichever split runs: the
    // result is the reference's, bitwise, for any thread count.
    const auto groups = table_groups(p, max_threads());
    if (!groups.empty()) {
        // Split by tables: each thread scans the batch in order for the fields of its tables. Reads
        // grad_out in order and writes rows of tables that usually stay in cache; no sort.
        std::vector<std::vector<int64_t>> fields(groups.size());
        std::vector<int64_t> group_of(static_cast<size_t>(p.num_tables));
        for (size_t k = 0; k < groups.size(); ++k)
            for (int64_t t : groups[k]) group_of[t] = static_cast<int64_t>(k);
        for (int64_t f = 0; f < p.num_fields; ++f) fields[group_of[p.table[f]]].push_back(f);
        parallel_for(0, static_cast<int64_t>(groups.size()), 1, [&](int64_t k0, int64_t k1) {
            for (int64_t k = k0; k < k1; ++k)
                for (int64_t b = 0; b < batch; ++b)
                    for (int64_t f : fields[k]) {
                        const int64_t t = p.table[f], dim = p.dims[t], n = p.bag[f];
                        const int64_t* bag = ids + b * p.slots + p.slot_begin[f];
                        const float* go = grad_out + b * p.width + p.col_begin[f];
                        float scale = 1.0f;
                        if (p.pooling[f] == DYNREC_POOLING_MEAN) {
                            int64_t count = 0;
                            for (int64_t s = 0; s < n; ++s) count += bag[s] != 0;
                            scale = 1.0f / float(count > 0 ? count : 1);
                        }
                        const int64_t step = p.pooling[f] == DYNREC_POOLING_NONE ? dim : 0;
                        for (int64_t s = 0; s < n; ++s) {
                            if (bag[s] == 0) continue;
                            float* row = grad_tables[t] + bag[s] * dim;
                            const float* g = go + s * step;
                            for (int64_t j = 0; j < dim; ++j) row[j] += g[j] * scale;
                        }
                    }
        });
        return;
    }
    // One table dominates: sort the occurrences by row and split the rows' segments across threads.
    const Segments sg = segments_of(p, batch, ids);
    const int64_t F = p.num_fields, S = p.slots;
    parallel_for(0, sg.count(), 64, [&](int64_t s0, int64_t s1) {
        for (int64_t seg = s0; seg < s1; ++seg) {
            const int64_t first = sg.heads[seg], last = sg.heads[seg + 1];
            const int64_t t = p.table[p.slot_field[sg.keys[first].second % S]], dim = p.dims[t];
            float* row = grad_tables[t] + (sg.keys[first].first - p.row_base[t]) * dim;
            for (int64_t i = first; i < last; ++i) {
                const int64_t k = sg.keys[i].second, b = k / S, slot = k % S, f = p.slot_field[slot];
                const float* go = grad_out + b * p.width + p.col_begin[f] +
                                  (p.pooling[f] == DYNREC_POOLING_NONE ? (slot - p.slot_begin[f]) * dim : 0);
                const float sc = sg.scale[b * F + f];
                for (int64_t j = 0; j < dim; ++j) row[j] += go[j] * sc;
            }
        }
    });
}

}  // namespace dynrec::cpu
