// Table-batched embedding exports (one weights buffer, or tables allocated
// apart given by pointer): validate the layout (into a TbePlan), the buffers
// and every id (on CUDA unless that check is turned off), then dispatch to
// CPU or CUDA. An invalid id is reported naming its field and
// table before anything is written.
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/math_mode.h"
#include "common/validate.h"
#include "cpu/embedding_bag.h"
#if DYNREC_WITH_CUDA
#include "cuda/embedding_bag.cuh"
#endif

using namespace dynrec;

namespace {

struct Layout {
    int64_t num_tables;
    const int64_t *table_rows, *table_dims, *table_offsets;
    int64_t num_fields;
    const int64_t *field_table, *bag_sizes;
    const int32_t* pooling;
};

cpu::TbePlan plan_for(const Layout& l, int64_t weights_numel, int64_t batch) {
    cpu::TbePlan p = cpu::make_tbe_plan(l.num_tables, l.table_rows, l.table_dims, l.table_offsets, l.num_fields,
                                        l.field_table, l.bag_sizes, l.pooling, weights_numel);
    check_positive("batch", batch);
    checked_elements("ids [batch, S]", {batch, p.slots});
    checked_elements("out [batch, W]", {batch, p.width});
    return p;
}

[[noreturn]] void throw_bad_id(const cpu::TbePlan& p, int64_t flat, int64_t id) {
    const int64_t b = flat / p.slots, slot = flat % p.slots, f = p.slot_field[slot], t = p.table[f];
    throw_invalid("ids: field " + std::to_string(f) + " (table " + std::to_string(t) + "): id " + std::to_string(id) +
                  " at sample " + std::to_string(b) + ", slot " + std::to_string(slot - p.slot_begin[f]) +
                  " is outside [0, " + std::to_string(p.rows[t]) + ")");
}

void check_ids_cpu(const cpu::TbePlan& p, int64_t batch, const int64_t* ids) {
    const int64_t bad = cpu::first_invalid_id(p, batch, ids);
    if (bad >= 0) throw_bad_id(p, bad, ids[bad]);
}

#if DYNREC_WITH_CUDA
// Unless turned off (dynrec_cuda_set_tbe_id_check(0)): the device check, one
// host round trip; the kernels mask bad ids either way.
void check_ids_cuda(void* stream, const cpu::TbePlan& p, int64_t batch, const int64_t* ids, void* workspace) {
    if (!cuda_tbe_id_check_enabled()) return;
    int64_t bad_id = 0;
    const int64_t bad = cuda::tbe_first_invalid_id(stream, p, batch, ids, workspace, &bad_id);
    if (bad >= 0) throw_bad_id(p, bad, bad_id);
}

void check_workspace_cuda(const cpu::TbePlan& p, int64_t batch, const void* workspace, int64_t workspace_bytes) {
    if (batch * p.slots > int64_t(0x7fffffff)) throw_invalid("batch: batch * S must stay below 2^31 on CUDA");
    check_workspace("dynrec_tbe_workspace_size", cuda::tbe_workspace_bytes(p, batch), workspace, workspace_bytes);
}

// What every CUDA call does before its kernels: the workspace check, the plan upload (with the
// call's table pointers, or none) and the id check.
void prepare_cuda(void* stream, const cpu::TbePlan& p, int64_t batch, const int64_t* ids, const void* const* tables,
                  void* workspace, int64_t workspace_bytes) {
    check_workspace_cuda(p, batch, workspace, workspace_bytes);
    cuda::tbe_upload_plan(stream, p, tables, workspace);
    check_ids_cuda(stream, p, batch, ids, workspace);
}
#endif

// The layout of tables allocated apart, with the same batch checks as plan_for.
cpu::TbePlan tables_plan_for(const Layout& l, int64_t batch) {
    cpu::TbePlan p = cpu::make_tbe_tables_plan(l.num_tables, l.table_rows, l.table_dims, l.num_fields, l.field_table,
                                               l.bag_sizes, l.pooling);
    check_positive("batch", batch);
    checked_elements("ids [batch, S]", {batch, p.slots});
    checked_elements("out [batch, W]", {batch, p.width});
    return p;
}

// Every entry of a host array of table pointers: present and on `device`.
void check_table_pointers(int32_t device, const char* name, const void* const* tables, const cpu::TbePlan& p) {
    check_not_null(name, tables);
    for (int64_t t = 0; t < p.num_tables; ++t) {
        const std::string entry = std::string(name) + "[" + std::to_string(t) + "]";
        check_not_null(entry.c_str(), tables[t]);
        check_pointer_location(device, entry.c_str(), tables[t]);
    }
}

// Gradient tables are written: no two may share a byte (a row would be updated twice at once).
void check_disjoint(const char* name, float* const* tables, const cpu::TbePlan& p) {
    std::vector<std::pair<uintptr_t, int64_t>> spans;  // (start address, table)
    for (int64_t t = 0; t < p.num_tables; ++t) spans.emplace_back(reinterpret_cast<uintptr_t>(tables[t]), t);
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i) {
        const int64_t a = spans[i - 1].second, b = spans[i].second;
        const uintptr_t end_a = spans[i - 1].first + uintptr_t(p.rows[a] * p.dims[a]) * sizeof(float);
        if (end_a > spans[i].first)
            throw_invalid(std::string(name) + ": tables " + std::to_string(std::min(a, b)) + " and " +
                          std::to_string(std::max(a, b)) + " overlap");
    }
}

cpu::SparseOptimizer optimizer_for(const cpu::TbePlan& p, int32_t kind, float lr, float eps, float beta1, float beta2,
                                   int64_t step, float* state1, float* state2, int64_t* row_steps) {
    if (kind != DYNREC_SPARSE_SGD && kind != DYNREC_SPARSE_ROWWISE_ADAGRAD && kind != DYNREC_SPARSE_LAZY_ADAM)
        throw_invalid("optimizer: " + std::to_string(kind) + " is not a dynrec_sparse_optimizer");
    check_finite("lr", lr);
    if (kind != DYNREC_SPARSE_SGD) {
        check_finite("eps", eps);
        if (!(eps > 0.0f)) throw_invalid("eps: must be > 0");
        check_not_null("state1", state1);
    }
    if (kind == DYNREC_SPARSE_LAZY_ADAM) {
        check_finite("beta1", beta1);
        check_finite("beta2", beta2);
        if (!(beta1 >= 0.0f && beta1 < 1.0f)) throw_invalid("beta1: must be in [0, 1)");
        if (!(beta2 >= 0.0f && beta2 < 1.0f)) throw_invalid("beta2: must be in [0, 1)");
        check_not_null("state2", state2);
        if (row_steps == nullptr) check_positive("step", step);
    }
    (void)p;
    return {kind, lr, eps, beta1, beta2, step, state1, state2, row_steps};
}

}  // namespace

extern "C" {

DYNREC_API dynrec_status dynrec_tbe_output_width(int64_t num_tables, const int64_t* table_dims, int64_t num_fields,
                                                 const int64_t* field_table, const int64_t* bag_sizes,
                                                 const int32_t* pooling, int64_t* width) {
    return guard(__func__, [&] {
        cpu::check_tbe_counts(num_tables, num_fields);
        check_not_null("table_dims", table_dims);
        check_not_null("width", width);
        // Rows/offsets do not matter for the width: lay the tables out as 1-row tables.
        std::vector<int64_t> rows(static_cast<size_t>(num_tables), 1), offsets(static_cast<size_t>(num_tables));
        int64_t total = 0;
        for (int64_t t = 0; t < num_tables; ++t) {
            check_positive(("table_dims[" + std::to_string(t) + "]").c_str(), table_dims[t]);
            offsets[t] = total;
            total += table_dims[t];
            if (total > kMaxElements) throw_invalid("table_dims: too large");
        }
        *width = cpu::make_tbe_plan(num_tables, rows.data(), table_dims, offsets.data(), num_fields, field_table,
                                    bag_sizes, pooling, total)
                     .width;
    });
}

DYNREC_API dynrec_status dynrec_tbe_workspace_size(int32_t device, int64_t num_tables, int64_t num_fields,
                                                   const int64_t* bag_sizes, int64_t batch, int64_t* bytes) {
    return guard(__func__, [&] {
        check_device(device);
        cpu::check_tbe_counts(num_tables, num_fields);
        check_not_null("bag_sizes", bag_sizes);
        check_positive("batch", batch);
        check_not_null("bytes", bytes);
        *bytes = 0;
        if (device != DYNREC_DEVICE_CUDA) return;
#if DYNREC_WITH_CUDA
        // Only the sizes matter here: a plan of 1-row, 1-column tables with these bags.
        std::vector<int64_t> ones(static_cast<size_t>(num_tables), 1), offsets(static_cast<size_t>(num_tables));
        for (int64_t t = 0; t < num_tables; ++t) offsets[t] = t;
        std::vector<int64_t> field_table(static_cast<size_t>(num_fields), 0);
        std::vector<int32_t> pooling(static_cast<size_t>(num_fields), DYNREC_POOLING_SUM);
        const cpu::TbePlan p = plan_for({num_tables, ones.data(), ones.data(), offsets.data(), num_fields,
                                         field_table.data(), bag_sizes, pooling.data()},
                                        num_tables, batch);
        if (batch * p.slots > int64_t(0x7fffffff)) throw_invalid("batch: batch * S must stay below 2^31 on CUDA");
        *bytes = cuda::tbe_workspace_bytes(p, batch);
#endif
    });
}

DYNREC_API dynrec_status dynrec_tbe_forward(int32_t device, void* stream, int64_t num_tables, const int64_t* table_rows,
                                            const int64_t* table_dims, const int64_t* table_offsets,
                                            int64_t num_fields, const int64_t* field_table, const int64_t* bag_sizes,
                                            const int32_t* pooling, const float* weights, int64_t weights_numel,
                                            int64_t batch, const int64_t* ids, float* out, void* workspace,
                                            int64_t workspace_bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const cpu::TbePlan p = plan_for({num_tables, table_rows, table_dims, table_offsets, num_fields, field_table,
                                         bag_sizes, pooling},
                                        weights_numel, batch);
        check_not_null("weights", weights);
        check_not_null("ids", ids);
        check_not_null("out", out);
        check_non_negative("workspace_bytes", workspace_bytes);
        check_locations(device, {{"weights", weights}, {"ids", ids}, {"out", out}, {"workspace", workspace}});
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            const std::vector<const float*> tables = cpu::table_pointers(p, weights);
            prepare_cuda(stream, p, batch, ids, reinterpret_cast<const void* const*>(tables.data()), workspace,
                         workspace_bytes);
            cuda::tbe_forward(stream, p, batch, ids, out, workspace);
#endif
            return;
        }
        (void)stream;
        check_ids_cpu(p, batch, ids);
        cpu::tbe_forward(p, cpu::table_pointers(p, weights).data(), batch, ids, out);
    });
}

DYNREC_API dynrec_status dynrec_tbe_backward_update(
    int32_t device, void* stream, int64_t num_tables, const int64_t* table_rows, const int64_t* table_dims,
    const int64_t* table_offsets, int64_t num_fields, const int64_t* field_table, const int64_t* bag_sizes,
    const int32_t* pooling, float* weights, int64_t weights_numel, int64_t batch, const int64_t* ids,
    const float* grad_out, int32_t optimizer, float lr, float eps, float beta1, float beta2, int64_t step,
    float* state1, float* state2, int64_t* row_steps, void* workspace, int64_t workspace_bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const cpu::TbePlan p = plan_for({num_tables, table_rows, table_dims, table_offsets, num_fields, field_table,
                                         bag_sizes, pooling},
                                        weights_numel, batch);
        check_not_null("weights", weights);
        check_not_null("ids", ids);
        check_not_null("grad_out", grad_out);
        const cpu::SparseOptimizer opt =
            optimizer_for(p, optimizer, lr, eps, beta1, beta2, step, state1, state2, row_steps);
        check_non_negative("workspace_bytes", workspace_bytes);
        check_locations(device, {{"weights", weights}, {"ids", ids}, {"grad_out", grad_out}, {"state1", state1},
                                 {"state2", state2}, {"row_steps", row_steps}, {"workspace", workspace}});
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            prepare_cuda(stream, p, batch, ids, nullptr, workspace, workspace_bytes);
            cuda::tbe_backward_update(stream, p, weights, batch, ids, grad_out, opt, workspace);
#endif
            return;
        }
        (void)stream;
        check_ids_cpu(p, batch, ids);
        cpu::tbe_backward_update(p, weights, batch, ids, grad_out, opt);
    });
}

DYNREC_API dynrec_status dynrec_tbe_forward_reference(int64_t num_tables, const int64_t* table_rows,
                                                      const int64_t* table_dims, const int64_t* table_offsets,
                                                      int64_t num_fields, const int64_t* field_table,
                                                      const int64_t* bag_sizes, const int32_t* pooling,
                                                      const float* weights, int64_t weights_numel, int64_t batch,
                                                      const int64_t* ids, float* out) {
    return guard(__func__, [&] {
        const cpu::TbePlan p = plan_for({num_tables, table_rows, table_dims, table_offsets, num_fields, field_table,
                                         bag_sizes, pooling},
                                        weights_numel, batch);
        check_not_null("weights", weights);
        check_not_null("ids", ids);
        check_not_null("out", out);
        check_locations(DYNREC_DEVICE_CPU, {{"weights", weights}, {"ids", ids}, {"out", out}});
        check_ids_cpu(p, batch, ids);
        cpu::tbe_forward_reference(p, cpu::table_pointers(p, weights).data(), batch, ids, out);
    });
}

DYNREC_API dynrec_status dynrec_tbe_backward_update_reference(
    int64_t num_tables, const int64_t* table_rows, const int64_t* table_dims, const int64_t* table_offsets,
    int64_t num_fields, const int64_t* field_table, const int64_t* bag_sizes, const int32_t* pooling, float* weights,
    int64_t weights_numel, int64_t batch, const int64_t* ids, const float* grad_out, int32_t optimizer, float lr,
    float eps, float beta1, float beta2, int64_t step, float* state1, float* state2, int64_t* row_steps) {
    return guard(__func__, [&] {
        const cpu::TbePlan p = plan_for({num_tables, table_rows, table_dims, table_offsets, num_fields, field_table,
                                         bag_sizes, pooling},
                                        weights_numel, batch);
        check_not_null("weights", weights);
        check_not_null("ids", ids);
        check_not_null("grad_out", grad_out);
        const cpu::SparseOptimizer opt =
            optimizer_for(p, optimizer, lr, eps, beta1, beta2, step, state1, state2, row_steps);
        check_locations(DYNREC_DEVICE_CPU, {{"weights", weights}, {"ids", ids}, {"grad_out", grad_out},
                                            {"state1", state1}, {"state2", state2}, {"row_steps", row_steps}});
        check_ids_cpu(p, batch, ids);
        cpu::tbe_backward_update_reference(p, weights, batch, ids, grad_out, opt);
    });
}

DYNREC_API dynrec_status dynrec_tbe_tables_forward(int32_t device, void* stream, int64_t num_tables,
                                                   const int64_t* table_rows, const int64_t* table_dims,
                                                   const float* const* tables, int64_t num_fields,
                                                   const int64_t* field_table, const int64_t* bag_sizes,
                                                   const int32_t* pooling, int64_t batch, const int64_t* ids,
                                                   float* out, void* workspace, int64_t workspace_bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const cpu::TbePlan p =
            tables_plan_for({num_tables, table_rows, table_dims, nullptr, num_fields, field_table, bag_sizes, pooling},
                            batch);
        check_not_null("ids", ids);
        check_not_null("out", out);
        check_non_negative("workspace_bytes", workspace_bytes);
        check_table_pointers(device, "tables", reinterpret_cast<const void* const*>(tables), p);
        check_locations(device, {{"ids", ids}, {"out", out}, {"workspace", workspace}});
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            prepare_cuda(stream, p, batch, ids, reinterpret_cast<const void* const*>(tables), workspace,
                         workspace_bytes);
            cuda::tbe_forward(stream, p, batch, ids, out, workspace);
#endif
            return;
        }
        (void)stream;
        check_ids_cpu(p, batch, ids);
        cpu::tbe_forward(p, tables, batch, ids, out);
    });
}

DYNREC_API dynrec_status dynrec_tbe_tables_backward(int32_t device, void* stream, int64_t num_tables,
                                                    const int64_t* table_rows, const int64_t* table_dims,
                                                    int64_t num_fields, const int64_t* field_table,
                                                    const int64_t* bag_sizes, const int32_t* pooling, int64_t batch,
                                                    const int64_t* ids, const float* grad_out,
                                                    float* const* grad_tables, void* workspace,
                                                    int64_t workspace_bytes) {
    return guard(__func__, [&] {
        check_device(device);
        const cpu::TbePlan p =
            tables_plan_for({num_tables, table_rows, table_dims, nullptr, num_fields, field_table, bag_sizes, pooling},
                            batch);
        check_not_null("ids", ids);
        check_not_null("grad_out", grad_out);
        check_non_negative("workspace_bytes", workspace_bytes);
        check_table_pointers(device, "grad_tables", reinterpret_cast<const void* const*>(grad_tables), p);
        check_disjoint("grad_tables", grad_tables, p);
        check_locations(device, {{"ids", ids}, {"grad_out", grad_out}, {"workspace", workspace}});
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            prepare_cuda(stream, p, batch, ids, reinterpret_cast<const void* const*>(grad_tables), workspace,
                         workspace_bytes);
            cuda::tbe_backward_accumulate(stream, p, batch, ids, grad_out, workspace);
#endif
            return;
        }
        (void)stream;
        check_ids_cpu(p, batch, ids);
        cpu::tbe_backward_accumulate(p, batch, ids, grad_out, grad_tables);
    });
}

DYNREC_API dynrec_status dynrec_tbe_tables_forward_reference(int64_t num_tables, const int64_t* table_rows,
                                                             const int64_t* table_dims, const float* const* tables,
                                                             int64_t num_fields, const int64_t* field_table,
                                                             const int64_t* bag_sizes, const int32_t* pooling,
                                                             int64_t batch, const int64_t* ids, float* out) {
    return guard(__func__, [&] {
        const cpu::TbePlan p =
            tables_plan_for({num_tables, table_rows, table_dims, nullptr, num_fields, field_table, bag_sizes, pooling},
                            batch);
        check_not_null("ids", ids);
        check_not_null("out", out);
        check_table_pointers(DYNREC_DEVICE_CPU, "tables", reinterpret_cast<const void* const*>(tables), p);
        check_locations(DYNREC_DEVICE_CPU, {{"ids", ids}, {"out", out}});
        check_ids_cpu(p, batch, ids);
        cpu::tbe_forward_reference(p, tables, batch, ids, out);
    });
}

DYNREC_API dynrec_status dynrec_tbe_tables_backward_reference(int64_t num_tables, const int64_t* table_rows,
                                                              const int64_t* table_dims, int64_t num_fields,
                                                              const int64_t* field_table, const int64_t* bag_sizes,
                                                              const int32_t* pooling, int64_t batch,
                                                              const int64_t* ids, const float* grad_out,
                                                              float* const* grad_tables) {
    return guard(__func__, [&] {
        const cpu::TbePlan p =
            tables_plan_for({num_tables, table_rows, table_dims, nullptr, num_fields, field_table, bag_sizes, pooling},
                            batch);
        check_not_null("ids", ids);
        check_not_null("grad_out", grad_out);
        check_table_pointers(DYNREC_DEVICE_CPU, "grad_tables", reinterpret_cast<const void* const*>(grad_tables), p);
        check_disjoint("grad_tables", grad_tables, p);
        check_locations(DYNREC_DEVICE_CPU, {{"ids", ids}, {"grad_out", grad_out}});
        check_ids_cpu(p, batch, ids);
        cpu::tbe_backward_accumulate_reference(p, batch, ids, grad_out, grad_tables);
    });
}

}  // extern "C"
