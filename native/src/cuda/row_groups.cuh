// Rows that share a condition (hyper_linear's rows_per_cond): repeat a
// [groups, cols] matrix's rows R times, and sum each group's R rows back.
#pragma once

#include <cstdint>

namespace dynrec::cuda {

// out[i, c] = in[i / R, c] for i < groups * R.
void repeat_rows(void* stream, int64_t groups, int64_t rows_per_group, int64_t cols, const float* in, float* out);

// out[g, c] = sum_{r < R} in[g * R + r, c] (in row order: deterministic); `accumulate` adds to out.
void sum_row_groups(void* stream, int64_t groups, int64_t rows_per_group, int64_t cols, const float* in, float* out,
                    bool accumulate);

}  // namespace dynrec::cuda
