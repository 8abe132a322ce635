// Deterministic reductions over rows of a [rows, cols] row-major matrix.
#pragma once

#include <cstdint>

namespace dynrec::cpu {

// out[c] = sum_r m[r, c]; fixed chunking, so the same inputs always give the
// same bits regardless of thread count.
void column_sums(int64_t rows, int64_t cols, const float* m, float* out);

}  // namespace dynrec::cpu
