// The 8 x 16 register tile both CPU GEMM paths accumulate in (gemm.cpp's
// packed micro-kernel, gemm_small_m.cpp's in-place kernels): explicit
// accumulators, so they stay in registers, fed by accessors that say where
// the operands come from.
#pragma once

#include <cstdint>
#include <cstring>

namespace dynrec::cpu::gemm {

typedef float v16 __attribute__((vector_size(64), aligned(4)));

// acc[r] = sum_p a_at(r, p) * (16 floats at b_row(p)) for r < ROWS, p < kc.
#define DYNREC_TILE_FMA(r) c##r += a_at(r, p) * bv
template <int ROWS, class AAt, class BRow>
static inline __attribute__((always_inline)) void accumulate_tile(int64_t kc, const AAt& a_at, const BRow& b_row,
                                                                  v16* acc) {
    static_assert(ROWS == 4 || ROWS == 8, "4 or 8 rows");
    v16 c0 = {}, c1 = {}, c2 = {}, c3 = {}, c4 = {}, c5 = {}, c6 = {}, c7 = {};
    for (int64_t p = 0; p < kc; ++p) {
        v16 bv;
        std::memcpy(&bv, b_row(p), sizeof(bv));
        DYNREC_TILE_FMA(0);
        DYNREC_TILE_FMA(1);
        DYNREC_TILE_FMA(2);
        DYNREC_TILE_FMA(3);
        if (ROWS == 8) {
            DYNREC_TILE_FMA(4);
            DYNREC_TILE_FMA(5);
            DYNREC_TILE_FMA(6);
            DYNREC_TILE_FMA(7);
        }
    }
    acc[0] = c0;
    acc[1] = c1;
    acc[2] = c2;
    acc[3] = c3;
    if (ROWS == 8) {
        acc[4] = c4;
        acc[5] = c5;
        acc[6] = c6;
        acc[7] = c7;
    }
}
#undef DYNREC_TILE_FMA

}  // namespace dynrec::cpu::gemm
