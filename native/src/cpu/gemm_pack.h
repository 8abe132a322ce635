// Packing row-major operands into the micro-kernel's interleaved slivers,
// where op(X) must be read across rows: A [m, k] into [kc][MR] slivers, and
// W [n, k] (op(B) = W^T) into [kc][NR] slivers. A scalar copy does one
// strided store per element (~3 cycles each: a quarter of a large GEMM's
// time); here 8 x 8 blocks are transposed in registers.
#pragma once

#include <cstdint>

namespace dynrec::cpu::gemm {

// dst[p * dst_ld + r] = src[r * ld + p] for r < rows, p < kc, and 0 for
// rows <= r < 8. rows <= 8.
void pack_transposed8(const float* src, int64_t ld, int64_t rows, int64_t kc, float* dst, int64_t dst_ld);

// The scalar definition of the same; the tests compare against it.
void pack_transposed8_reference(const float* src, int64_t ld, int64_t rows, int64_t kc, float* dst,
                                int64_t dst_ld);

}  // namespace dynrec::cpu::gemm
