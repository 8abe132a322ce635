// Deterministic reductions over rows of a [rows, cols] row-major matrix.
#pragma once

#include <cstdint>

namespace dynrec::cpu {

// out[c] = sum_r m[r, c]; fixed chunking, so the same inputs always give the
// same bits regardless of thread count.
void column_sums(int64_t rows, int64_t cols, const float* m, float* out);

// sum_k a[k] b[k] with 16 independent partial sums: vectorizes without
// -ffast-math, and the summation order is fixed (deterministic).
inline float dot_lanes(const float* a, const float* b, int64_t n) {
    float acc[16] = {};
    int64_t k = 0;
    for (; k + 16 <= n; k += 16)
        for (int j = 0; j < 16; ++j) acc[j] += a[k + j] * b[k + j];
    float s = 0.0f;
    for (; k < n; ++k) s += a[k] * b[k];
    for (int j = 0; j < 16; ++j) s += acc[j];
    return s;
}

}  // namespace dynrec::cpu
