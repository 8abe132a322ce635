// A strided matrix transpose for the generator layouts of hyper_grouped.cpp:
// there a layout costs O(params) per call, which at small batches was as much
// as the products (a scalar blocked loop: ~0.6 ns a float on an Emerald
// Rapids core). The AVX-512 path moves 16 x 16 blocks through registers.
#pragma once

#include <cstdint>

namespace dynrec::cpu {

// dst[j * ld_dst + i] = src[i * ld_src + j] for i < rows, j < cols. src and dst must not overlap.
void transpose(int64_t rows, int64_t cols, const float* src, int64_t ld_src, float* dst, int64_t ld_dst);

// The naive loops with the same contract (the tests' reference).
void transpose_reference(int64_t rows, int64_t cols, const float* src, int64_t ld_src, float* dst, int64_t ld_dst);

}  // namespace dynrec::cpu
