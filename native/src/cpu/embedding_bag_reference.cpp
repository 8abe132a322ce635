// TBE reference: the spec in plain loops, single-threaded. For the fused
// update, gradients of a row are summed in sample-then-slot order (from
// zero), then the optimizer step runs once per touched row (ascending global
// row); the tables backward adds each occurrence to its row's gradient in
// sample-then-slot order.
#include <cmath>
#include <map>
#include <vector>

#include "cpu/embedding_bag.h"
#include "dynrec/dynrec.h"

namespace dynrec::cpu {

void tbe_forward_reference(const TbePlan& p, const float* const* tables, int64_t batch, const int64_t* ids,
                           float* out) {
    for (int64_t b = 0; b < batch; ++b) {
        for (int64_t f = 0; f < p.num_fields; ++f) {
            const int64_t t = p.table[f], dim = p.dims[t];
            float* o = out + b * p.width + p.col_begin[f];
            const int64_t* bag = ids + b * p.slots + p.slot_begin[f];
            if (p.pooling[f] == DYNREC_POOLING_NONE) {
                for (int64_t s = 0; s < p.bag[f]; ++s)
                    for (int64_t j = 0; j < dim; ++j)
                        o[s * dim + j] = bag[s] == 0 && !p.none_reads_padding_row ? 0.0f : tables[t][bag[s] * dim + j];
                continue;
            }
            int64_t count = 0;
            for (int64_t s = 0; s < p.bag[f]; ++s) count += bag[s] != 0;
            for (int64_t j = 0; j < dim; ++j) {
                float acc = 0.0f;
                for (int64_t s = 0; s < p.bag[f]; ++s)
                    if (bag[s] != 0) acc += tables[t][bag[s] * dim + j];
                if (p.pooling[f] == DYNREC_POOLING_MEAN) acc = count > 0 ? acc / float(count) : 0.0f;
                o[j] = acc;
            }
        }
    }
}

namespace {

// Calls visit(table, id, grad_out block, scale) for every non-padding occurrence in sample-then-slot
// order; scale is 1/count for MEAN bags, else 1.
template <class Visit>
void for_each_occurrence(const TbePlan& p, int64_t batch, const int64_t* ids, const float* grad_out,
                         const Visit& visit) {
    for (int64_t b = 0; b < batch; ++b) {
        for (int64_t f = 0; f < p.num_fields; ++f) {
            const int64_t t = p.table[f], dim = p.dims[t];
            const int64_t* bag = ids + b * p.slots + p.slot_begin[f];
            int64_t count = 0;
            for (int64_t s = 0; s < p.bag[f]; ++s) count += bag[s] != 0;
            const float scale = p.pooling[f] == DYNREC_POOLING_MEAN ? 1.0f / float(count > 0 ? count : 1) : 1.0f;
            for (int64_t s = 0; s < p.bag[f]; ++s) {
                if (bag[s] == 0) continue;
                visit(t, bag[s], grad_out + b * p.width + p.col_begin[f] +
                                     (p.pooling[f] == DYNREC_POOLING_NONE ? s * dim : 0),
                      scale);
            }
        }
    }
}

// global row -> (table, the row's gradient: its occurrences summed in sample-then-slot order).
using RowGradients = std::map<int64_t, std::pair<int64_t, std::vector<float>>>;

RowGradients row_gradients(const TbePlan& p, int64_t batch, const int64_t* ids, const float* grad_out) {
    RowGradients grads;
    for_each_occurrence(p, batch, ids, grad_out, [&](int64_t t, int64_t id, const float* go, float scale) {
        auto& entry = grads[p.row_base[t] + id];
        entry.first = t;
        entry.second.resize(static_cast<size_t>(p.dims[t]), 0.0f);
        for (int64_t j = 0; j < p.dims[t]; ++j) entry.second[j] += go[j] * scale;
    });
    return grads;
}

}  // namespace

void tbe_backward_accumulate_reference(const TbePlan& p, int64_t batch, const int64_t* ids, const float* grad_out,
                                       float* const* grad_tables) {
    for_each_occurrence(p, batch, ids, grad_out, [&](int64_t t, int64_t id, const float* go, float scale) {
        float* row = grad_tables[t] + id * p.dims[t];
        for (int64_t j = 0; j < p.dims[t]; ++j) row[j] += go[j] * scale;
    });
}

void tbe_backward_update_reference(const TbePlan& p, float* weights, int64_t batch, const int64_t* ids,
                                   const float* grad_out, const SparseOptimizer& opt) {
    const RowGradients grads = row_gradients(p, batch, ids, grad_out);
    for (const auto& [grow, entry] : grads) {
        const int64_t t = entry.first, dim = p.dims[t], row = grow - p.row_base[t];
        const int64_t e = p.offsets[t] + row * dim;
        const std::vector<float>& g = entry.second;
        if (opt.kind == DYNREC_SPARSE_SGD) {
            for (int64_t j = 0; j < dim; ++j) weights[e + j] -= opt.lr * g[j];
        } else if (opt.kind == DYNREC_SPARSE_ROWWISE_ADAGRAD) {
            float sq = 0.0f;
            for (int64_t j = 0; j < dim; ++j) sq += g[j] * g[j];
            opt.state1[grow] += sq / float(dim);
            const float denom = std::sqrt(opt.state1[grow]) + opt.eps;
            for (int64_t j = 0; j < dim; ++j) weights[e + j] -= opt.lr * g[j] / denom;
        } else {
            int64_t k = opt.step;
            if (opt.row_steps) k = ++opt.row_steps[grow];
            const double bc1 = 1.0 - std::pow(double(opt.beta1), double(k));
            const double bc2 = 1.0 - std::pow(double(opt.beta2), double(k));
            const float step_size = float(double(opt.lr) * std::sqrt(bc2) / bc1);
            for (int64_t j = 0; j < dim; ++j) {
                float& m = opt.state1[e + j];
                float& v = opt.state2[e + j];
                m = opt.beta1 * m + (1.0f - opt.beta1) * g[j];
                v = opt.beta2 * v + (1.0f - opt.beta2) * g[j] * g[j];
                weights[e + j] -= step_size * (m / (std::sqrt(v) + opt.eps));
            }
        }
    }
}

}  // namespace dynrec::cpu
