// TBE layout validation: every array entry is checked and named, tables
// must fit in `weights` and must not overlap (so row updates of different
// tables never alias), and all derived sizes stay inside kMaxElements.
#include <algorithm>
#include <string>

#include "common/validate.h"
#include "cpu/embedding_bag.h"
#include "dynrec/dynrec.h"

namespace dynrec::cpu {

namespace {
std::string at(const char* array, int64_t i) { return std::string(array) + "[" + std::to_string(i) + "]"; }
}  // namespace

void check_tbe_counts(int64_t num_tables, int64_t num_fields) {
    check_positive("num_tables", num_tables);
    check_positive("num_fields", num_fields);
    if (num_tables > kMaxTables) throw_invalid("num_tables: at most 2^20 tables");
    if (num_fields > kMaxFields) throw_invalid("num_fields: at most 2^20 fields");
}

TbePlan make_tbe_plan(int64_t num_tables, const int64_t* table_rows, const int64_t* table_dims,
                      const int64_t* table_offsets, int64_t num_fields, const int64_t* field_table,
                      const int64_t* bag_sizes, const int32_t* pooling, int64_t weights_numel) {
    check_tbe_counts(num_tables, num_fields);
    check_not_null("table_rows", table_rows);
    check_not_null("table_dims", table_dims);
    check_not_null("table_offsets", table_offsets);
    check_not_null("field_table", field_table);
    check_not_null("bag_sizes", bag_sizes);
    check_not_null("pooling", pooling);
    check_non_negative("weights_numel", weights_numel);
    TbePlan p;
    p.num_tables = num_tables;
    p.num_fields = num_fields;
    for (int64_t t = 0; t < num_tables; ++t) {
        check_positive(at("table_rows", t).c_str(), table_rows[t]);
        check_positive(at("table_dims", t).c_str(), table_dims[t]);
        check_non_negative(at("table_offsets", t).c_str(), table_offsets[t]);
        const int64_t n = checked_elements(at("table", t).c_str(), {table_rows[t], table_dims[t]});
        if (table_offsets[t] > weights_numel - n)
            throw_invalid(at("table_offsets", t) + ": table " + std::to_string(t) + " (" + std::to_string(n) +
                          " elements at offset " + std::to_string(table_offsets[t]) +
                          ") does not fit in weights_numel = " + std::to_string(weights_numel));
        p.rows.push_back(table_rows[t]);
        p.dims.push_back(table_dims[t]);
        p.offsets.push_back(table_offsets[t]);
        p.row_base.push_back(p.total_rows);
        p.total_rows += table_rows[t];
        p.max_dim = std::max(p.max_dim, table_dims[t]);
        if (p.total_rows > kMaxElements) throw_invalid("table_rows: more than 2^40 rows in all");
    }
    std::vector<int64_t> order(static_cast<size_t>(num_tables));
    for (int64_t t = 0; t < num_tables; ++t) order[t] = t;
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p.offsets[a] < p.offsets[b]; });
    for (size_t i = 1; i < order.size(); ++i) {
        const int64_t a = order[i - 1], b = order[i];
        if (p.offsets[a] + p.rows[a] * p.dims[a] > p.offsets[b])
            throw_invalid("table_offsets: tables " + std::to_string(a) + " and " + std::to_string(b) + " overlap");
    }
    for (int64_t f = 0; f < num_fields; ++f) {
        if (field_table[f] < 0 || field_table[f] >= num_tables)
            throw_invalid(at("field_table", f) + ": " + std::to_string(field_table[f]) + " is not a table in [0, " +
                          std::to_string(num_tables) + ")");
        check_positive(at("bag_sizes", f).c_str(), bag_sizes[f]);
        if (pooling[f] != DYNREC_POOLING_SUM && pooling[f] != DYNREC_POOLING_MEAN && pooling[f] != DYNREC_POOLING_NONE)
            throw_invalid(at("pooling", f) + ": " + std::to_string(pooling[f]) + " is not a dynrec_pooling");
        const int64_t dim = p.dims[field_table[f]];
        p.table.push_back(field_table[f]);
        p.bag.push_back(bag_sizes[f]);
        p.pooling.push_back(pooling[f]);
        p.slot_begin.push_back(p.slots);
        p.col_begin.push_back(p.width);
        // The plan keeps one host entry per slot: cap the slots before allocating them (a bag of
        // 2^40 would otherwise pass the element limit and spend hours in push_back).
        if (bag_sizes[f] > kMaxSlots - p.slots)
            throw_invalid(at("bag_sizes", f) + ": more than 2^24 id slots per sample in all");
        p.slots += bag_sizes[f];
        p.width += pooling[f] == DYNREC_POOLING_NONE ? checked_elements(at("bag_sizes", f).c_str(), {bag_sizes[f], dim})
                                                     : dim;
        if (p.width > kMaxElements) throw_invalid("bag_sizes: too many output columns");
        p.slot_field.insert(p.slot_field.end(), static_cast<size_t>(bag_sizes[f]), f);
    }
    return p;
}

TbePlan make_tbe_tables_plan(int64_t num_tables, const int64_t* table_rows, const int64_t* table_dims,
                             int64_t num_fields, const int64_t* field_table, const int64_t* bag_sizes,
                             const int32_t* pooling) {
    check_tbe_counts(num_tables, num_fields);
    check_not_null("table_rows", table_rows);
    check_not_null("table_dims", table_dims);
    std::vector<int64_t> offsets(static_cast<size_t>(num_tables));
    int64_t total = 0;
    for (int64_t t = 0; t < num_tables; ++t) {
        check_positive(at("table_rows", t).c_str(), table_rows[t]);
        check_positive(at("table_dims", t).c_str(), table_dims[t]);
        offsets[t] = total;
        total += checked_elements(at("table", t).c_str(), {table_rows[t], table_dims[t]});
        if (total > kMaxElements) throw_invalid("table_rows: more than 2^40 elements in all tables");
    }
    TbePlan p = make_tbe_plan(num_tables, table_rows, table_dims, offsets.data(), num_fields, field_table, bag_sizes,
                              pooling, total);
    p.none_reads_padding_row = true;
    return p;
}

std::vector<const float*> table_pointers(const TbePlan& p, const float* weights) {
    std::vector<const float*> tables(static_cast<size_t>(p.num_tables));
    for (int64_t t = 0; t < p.num_tables; ++t) tables[t] = weights + p.offsets[t];
    return tables;
}

int64_t first_invalid_id(const TbePlan& p, int64_t batch, const int64_t* ids) {
    for (int64_t b = 0; b < batch; ++b)
        for (int64_t s = 0; s < p.slots; ++s) {
            const int64_t id = ids[b * p.slots + s];
            if (id < 0 || id >= p.rows[p.table[p.slot_field[s]]]) return b * p.slots + s;
        }
    return -1;
}

}  // namespace dynrec::cpu
