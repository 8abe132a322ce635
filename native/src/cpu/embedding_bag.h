// Table-batched embeddings on the CPU: one gather over all fields' tables
// (forward), the backward fused with a sparse optimizer step on the rows a
// batch touches, and the plain backward that adds each touched row's
// gradient into per-table gradient buffers (tables allocated apart, e.g. one
// framework parameter per table). The kernels address table t through
// tables[t]: weights + offsets[t] for the one-buffer layout.
// *_reference: naive loops, the spec. Unsuffixed: optimized (OpenMP over
// samples / over unique rows). The layout is checked once into a TbePlan;
// ids are checked by the API layer before any call.
#pragma once

#include <cstdint>
#include <vector>

namespace dynrec::cpu {

// Validated layout plus what every kernel derives from it.
struct TbePlan {
    int64_t num_tables = 0, num_fields = 0;
    int64_t slots = 0;       // S: id columns per sample
    int64_t width = 0;       // W: output columns per sample
    int64_t total_rows = 0;  // rows of all tables (row-wise state length)
    std::vector<int64_t> rows, dims, offsets, row_base;                 // per table
    std::vector<int64_t> table, bag, slot_begin, col_begin;             // per field
    std::vector<int32_t> pooling;                                       // per field
    std::vector<int64_t> slot_field;                                    // per slot
    int64_t max_dim = 0;
    // Tables allocated apart are the caller's framework parameters: an unpooled (NONE) slot
    // with id 0 reads row 0 as torch.nn.Embedding(padding_idx=0) does, instead of zeros.
    bool none_reads_padding_row = false;
};

// Limits of a layout: tables and fields per call, and id slots per sample (the plan keeps
// host metadata per table, field and slot).
constexpr int64_t kMaxTables = int64_t(1) << 20;
constexpr int64_t kMaxFields = int64_t(1) << 20;
constexpr int64_t kMaxSlots = int64_t(1) << 24;

// num_tables and num_fields positive and within the limits (checked before anything is sized by them).
void check_tbe_counts(int64_t num_tables, int64_t num_fields);

// Checks the layout (names the offending array and index) and derives the plan.
TbePlan make_tbe_plan(int64_t num_tables, const int64_t* table_rows, const int64_t* table_dims,
                      const int64_t* table_offsets, int64_t num_fields, const int64_t* field_table,
                      const int64_t* bag_sizes, const int32_t* pooling, int64_t weights_numel);

// The plan of tables allocated apart (one pointer each): the same checks with the tables laid
// out back to back, so offsets and row_base index row-wise scratch, never the tables.
TbePlan make_tbe_tables_plan(int64_t num_tables, const int64_t* table_rows, const int64_t* table_dims,
                             int64_t num_fields, const int64_t* field_table, const int64_t* bag_sizes,
                             const int32_t* pooling);

// tables[t] = weights + offsets[t]: the one-buffer layout as per-table pointers.
std::vector<const float*> table_pointers(const TbePlan& plan, const float* weights);

// Flat index (b * S + slot) of the first id outside [0, rows) of its table, or -1.
int64_t first_invalid_id(const TbePlan& plan, int64_t batch, const int64_t* ids);

// Sparse optimizer configuration (see dynrec_sparse_optimizer in dynrec.h).
struct SparseOptimizer {
    int32_t kind;
    float lr, eps, beta1, beta2;
    int64_t step;
    float* state1;
    float* state2;
    int64_t* row_steps;
};

void tbe_forward_reference(const TbePlan& plan, const float* const* tables, int64_t batch, const int64_t* ids,
                           float* out);
void tbe_forward(const TbePlan& plan, const float* const* tables, int64_t batch, const int64_t* ids, float* out);

// grad_tables[t][row] += each non-padding occurrence's grad_out block (scaled for MEAN), a row's
// occurrences in sample/slot order; other rows are not touched.
void tbe_backward_accumulate_reference(const TbePlan& plan, int64_t batch, const int64_t* ids, const float* grad_out,
                                       float* const* grad_tables);
void tbe_backward_accumulate(const TbePlan& plan, int64_t batch, const int64_t* ids, const float* grad_out,
                             float* const* grad_tables);

void tbe_backward_update_reference(const TbePlan& plan, float* weights, int64_t batch, const int64_t* ids,
                                   const float* grad_out, const SparseOptimizer& opt);
void tbe_backward_update(const TbePlan& plan, float* weights, int64_t batch, const int64_t* ids,
                         const float* grad_out, const SparseOptimizer& opt);

}  // namespace dynrec::cpu
