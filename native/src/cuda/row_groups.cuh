// Rows that share a condition (hyper_linear's rows_per_cond): sum each group
// of R consecutive rows of a matrix.
#pragma once

#include <cstdint>

namespace dynrec::cuda {

// out[g, c] = sum_{r < R} in[g * R + r, c] (in row order: deterministic); `accumulate` adds to out.
void sum_row_groups(void* stream, int64_t groups, int64_t rows_per_group, int64_t cols, const float* in, float* out,
                    bool accumulate);

}  // namespace dynrec::cuda
