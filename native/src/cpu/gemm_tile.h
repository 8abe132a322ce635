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

// The same sums for an 8 x 32 tile: two 16-wide B rows (b_row0(p), b_row1(p))
// share each broadcast of A. 16 FMA chains per 8 broadcasts + 2 loads, where
// the 8 x 16 tile has 8 per 8 + 1: on cores with two 512-bit FMA pipes the
// single tile's loads, not its FMAs, set the pace (~135 against ~165
// GFLOP/s on an Emerald Rapids core, L1-resident). AVX-512 only (the 16
// accumulators alone fill AVX2's 16 registers twice over). Each element's
// chain of FMAs over p is the single tile's, so results are bit-identical.
#define DYNREC_PAIR_FMA(r)      \
    {                           \
        const float ar = a_at(r, p); \
        c##r += ar * b0;        \
        d##r += ar * b1;        \
    }
template <class AAt, class BRow0, class BRow1>
static inline __attribute__((always_inline)) void accumulate_tile_pair(int64_t kc, const AAt& a_at,
                                                                       const BRow0& b_row0, const BRow1& b_row1,
                                                                       v16* acc0, v16* acc1) {
    v16 c0 = {}, c1 = {}, c2 = {}, c3 = {}, c4 = {}, c5 = {}, c6 = {}, c7 = {};
    v16 d0 = {}, d1 = {}, d2 = {}, d3 = {}, d4 = {}, d5 = {}, d6 = {}, d7 = {};
    for (int64_t p = 0; p < kc; ++p) {
        v16 b0, b1;
        std::memcpy(&b0, b_row0(p), sizeof(b0));
        std::memcpy(&b1, b_row1(p), sizeof(b1));
        DYNREC_PAIR_FMA(0);
        DYNREC_PAIR_FMA(1);
        DYNREC_PAIR_FMA(2);
        DYNREC_PAIR_FMA(3);
        DYNREC_PAIR_FMA(4);
        DYNREC_PAIR_FMA(5);
        DYNREC_PAIR_FMA(6);
        DYNREC_PAIR_FMA(7);
    }
    acc0[0] = c0, acc0[1] = c1, acc0[2] = c2, acc0[3] = c3, acc0[4] = c4, acc0[5] = c5, acc0[6] = c6, acc0[7] = c7;
    acc1[0] = d0, acc1[1] = d1, acc1[2] = d2, acc1[3] = d3, acc1[4] = d4, acc1[5] = d5, acc1[6] = d6, acc1[7] = d7;
}
#undef DYNREC_PAIR_FMA

}  // namespace dynrec::cpu::gemm
