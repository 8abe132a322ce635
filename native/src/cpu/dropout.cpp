// dropout, optimized: the Philox rounds of kBlock counters side by side (AVX-512
// or AVX2 lanes; elsewhere lane arrays left to the compiler), 4 elements per
// counter, OpenMP over counter ranges. Each element gets the reference's
// multiplier and one multiplication, so the output is bit-identical.
#include "cpu/dropout.h"

#include <immintrin.h>

#include <algorithm>

#include "cpu/cpu_features.h"
#include "cpu/parallel.h"

namespace dynrec::cpu {

namespace {

constexpr int kBlock = 16;  // counters per vectorized step (64 elements)

// Multipliers of elements 4 * c0 .. 4 * (c0 + kBlock) - 1, in element order.
DYNREC_AVX2_CLONES void block_multipliers(const DropoutPlan& plan, uint64_t c0, float* m) {
    uint32_t x0[kBlock], x1[kBlock], x2[kBlock], x3[kBlock];
    for (int j = 0; j < kBlock; ++j) {
        const uint64_t c = c0 + static_cast<uint64_t>(j);
        x0[j] = static_cast<uint32_t>(c);
        x1[j] = static_cast<uint32_t>(c >> 32);
        x2[j] = 0;
        x3[j] = 0;
    }
    uint32_t k0 = plan.key0, k1 = plan.key1;
    for (int round = 0; round < 10; ++round) {
        for (int j = 0; j < kBlock; ++j) {
            const uint64_t p0 = uint64_t(0xD2511F53u) * x0[j], p1 = uint64_t(0xCD9E8D57u) * x2[j];
            const uint32_t n0 = uint32_t(p1 >> 32) ^ x1[j] ^ k0, n2 = uint32_t(p0 >> 32) ^ x3[j] ^ k1;
            x1[j] = uint32_t(p1);
            x3[j] = uint32_t(p0);
            x0[j] = n0;
            x2[j] = n2;
        }
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    const uint32_t t = plan.threshold;
    const float s = plan.scale;
    for (int j = 0; j < kBlock; ++j) {
        m[4 * j + 0] = (x0[j] >> 8) >= t ? s : 0.0f;
        m[4 * j + 1] = (x1[j] >> 8) >= t ? s : 0.0f;
        m[4 * j + 2] = (x2[j] >> 8) >= t ? s : 0.0f;
        m[4 * j + 3] = (x3[j] >> 8) >= t ? s : 0.0f;
    }
}

void steps_generic(const DropoutPlan& plan, int64_t s0, int64_t s1, const float* in, float* out) {
    float m[4 * kBlock];
    for (int64_t s = s0; s < s1; ++s) {
        block_multipliers(plan, static_cast<uint64_t>(s) * kBlock, m);
        const int64_t e0 = s * 4 * kBlock;
        for (int e = 0; e < 4 * kBlock; ++e) out[e0 + e] = in[e0 + e] * m[e];
    }
}

// GCC 12 flags the _mm512_undefined_epi32() pass-through inside its own
// AVX-512 shift / multiply intrinsics (GCC bug 105593, fixed in 13).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// The 32 x 32 -> 64-bit products of 16 lanes: mul_epu32 takes the even lanes, so
// the odd ones go through a shifted copy; hi/lo are re-interleaved by blends.
__attribute__((target("avx512f"))) inline void mul_hi_lo(__m512i x, __m512i m, __m512i& hi, __m512i& lo) {
    const __m512i even = _mm512_mul_epu32(x, m), odd = _mm512_mul_epu32(_mm512_srli_epi64(x, 32), m);
    lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

// 16 counters per step in the lanes of 4 registers; the 4 keep masks (16 bits,
// one per counter) are interleaved into element order with pdep (bit 4j + k =
// word k of counter j), then each 16 elements are multiplied by 0 or the scale.
__attribute__((target("avx512f,bmi2"))) void steps_avx512(const DropoutPlan& plan, int64_t s0, int64_t s1,
                                                           const float* in, float* out) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i m0 = _mm512_set1_epi32(int(0xD2511F53u)), m1 = _mm512_set1_epi32(int(0xCD9E8D57u));
    const __m512i threshold = _mm512_set1_epi32(int(plan.threshold));
    const __m512 scale = _mm512_set1_ps(plan.scale), zero = _mm512_setzero_ps();
    for (int64_t s = s0; s < s1; ++s) {
        const uint64_t c0 = static_cast<uint64_t>(s) * kBlock;
        // Counters c0 + j never carry into the high word inside a step (c0 is a multiple of 16).
        __m512i x0 = _mm512_add_epi32(_mm512_set1_epi32(int(uint32_t(c0))), lane);
        __m512i x1 = _mm512_set1_epi32(int(uint32_t(c0 >> 32)));
        __m512i x2 = _mm512_setzero_si512(), x3 = _mm512_setzero_si512();
        uint32_t k0 = plan.key0, k1 = plan.key1;
        for (int round = 0; round < 10; ++round) {
            __m512i hi0, lo0, hi1, lo1;
            mul_hi_lo(x0, m0, hi0, lo0);
            mul_hi_lo(x2, m1, hi1, lo1);
            x0 = _mm512_xor_si512(_mm512_xor_si512(hi1, x1), _mm512_set1_epi32(int(k0)));
            x2 = _mm512_xor_si512(_mm512_xor_si512(hi0, x3), _mm512_set1_epi32(int(k1)));
            x1 = lo1;
            x3 = lo0;
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        const uint64_t keep =
            _pdep_u64(_mm512_cmpge_epu32_mask(_mm512_srli_epi32(x0, 8), threshold), 0x1111111111111111ull) |
            _pdep_u64(_mm512_cmpge_epu32_mask(_mm512_srli_epi32(x1, 8), threshold), 0x2222222222222222ull) |
            _pdep_u64(_mm512_cmpge_epu32_mask(_mm512_srli_epi32(x2, 8), threshold), 0x4444444444444444ull) |
            _pdep_u64(_mm512_cmpge_epu32_mask(_mm512_srli_epi32(x3, 8), threshold), 0x8888888888888888ull);
        const int64_t e0 = s * 4 * kBlock;
        for (int q = 0; q < 4; ++q) {
            const __m512 mult = _mm512_mask_blend_ps(static_cast<__mmask16>(keep >> (16 * q)), zero, scale);
            _mm512_storeu_ps(out + e0 + 16 * q, _mm512_mul_ps(_mm512_loadu_ps(in + e0 + 16 * q), mult));
        }
    }
}

#pragma GCC diagnostic pop

// The same with 8 lanes (x86-64-v3: AVX2 + BMI2), each step's 16 counters as two halves.
__attribute__((target("avx2,bmi2"))) inline void mul_hi_lo8(__m256i x, __m256i m, __m256i& hi, __m256i& lo) {
    const __m256i even = _mm256_mul_epu32(x, m), odd = _mm256_mul_epu32(_mm256_srli_epi64(x, 32), m);
    lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

// Keep bits of 8 lanes: (w >> 8) >= threshold. Both sides are < 2^25, so the signed compare is exact.
__attribute__((target("avx2,bmi2"))) inline uint32_t keep8(__m256i w, __m256i threshold) {
    const __m256i drop = _mm256_cmpgt_epi32(threshold, _mm256_srli_epi32(w, 8));
    return ~static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(drop))) & 0xFFu;
}

__attribute__((target("avx2,bmi2"))) void steps_avx2(const DropoutPlan& plan, int64_t s0, int64_t s1,
                                                      const float* in, float* out) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i m0 = _mm256_set1_epi32(int(0xD2511F53u)), m1 = _mm256_set1_epi32(int(0xCD9E8D57u));
    const __m256i threshold = _mm256_set1_epi32(int(plan.threshold));
    const __m256 scale = _mm256_set1_ps(plan.scale), zero = _mm256_setzero_ps();
    for (int64_t s = s0; s < s1; ++s) {
        for (int half = 0; half < 2; ++half) {
            const uint64_t c0 = static_cast<uint64_t>(s) * kBlock + 8 * half;
            __m256i x0 = _mm256_add_epi32(_mm256_set1_epi32(int(uint32_t(c0))), lane);
            __m256i x1 = _mm256_set1_epi32(int(uint32_t(c0 >> 32)));
            __m256i x2 = _mm256_setzero_si256(), x3 = _mm256_setzero_si256();
            uint32_t k0 = plan.key0, k1 = plan.key1;
            for (int round = 0; round < 10; ++round) {
                __m256i hi0, lo0, hi1, lo1;
                mul_hi_lo8(x0, m0, hi0, lo0);
                mul_hi_lo8(x2, m1, hi1, lo1);
                x0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x1), _mm256_set1_epi32(int(k0)));
                x2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x3), _mm256_set1_epi32(int(k1)));
                x1 = lo1;
                x3 = lo0;
                k0 += 0x9E3779B9u;
                k1 += 0xBB67AE85u;
            }
            const uint32_t keep = _pdep_u32(keep8(x0, threshold), 0x11111111u) |
                                  _pdep_u32(keep8(x1, threshold), 0x22222222u) |
                                  _pdep_u32(keep8(x2, threshold), 0x44444444u) |
                                  _pdep_u32(keep8(x3, threshold), 0x88888888u);
            const int64_t e0 = (s * kBlock + 8 * half) * 4;
            for (int q = 0; q < 4; ++q) {
                const __m256i bits = _mm256_set1_epi32(static_cast<int>((keep >> (8 * q)) & 0xFFu));
                const __m256i kept = _mm256_cmpeq_epi32(_mm256_and_si256(bits, bit), bit);
                const __m256 mult = _mm256_blendv_ps(zero, scale, _mm256_castsi256_ps(kept));
                _mm256_storeu_ps(out + e0 + 8 * q, _mm256_mul_ps(_mm256_loadu_ps(in + e0 + 8 * q), mult));
            }
        }
    }
}

enum class Isa { kAvx512, kAvx2, kGeneric };

// The pdep interleave needs BMI2 beside the vector width.
Isa pick_isa() {
    static const Isa isa = [] {
        if (__builtin_cpu_supports("bmi2") == 0) return Isa::kGeneric;
        if (use_avx512()) return Isa::kAvx512;
        return __builtin_cpu_supports("avx2") != 0 ? Isa::kAvx2 : Isa::kGeneric;
    }();
    return isa;
}

}  // namespace

void dropout(int64_t n, const DropoutPlan& plan, const float* in, float* out) {
    const int64_t full_steps = n / (4 * kBlock);
    const Isa isa = pick_isa();
    // ~16k elements a piece: big enough to pay for a thread, small enough to split PPNet's layers.
    parallel_for(0, full_steps, 256, [&](int64_t s0, int64_t s1) {
        switch (isa) {
            case Isa::kAvx512: steps_avx512(plan, s0, s1, in, out); break;
            case Isa::kAvx2: steps_avx2(plan, s0, s1, in, out); break;
            case Isa::kGeneric: steps_generic(plan, s0, s1, in, out); break;
        }
    });
    // The tail (< 64 elements) one counter at a time.
    for (int64_t e0 = full_steps * 4 * kBlock; e0 < n; e0 += 4) {
        float m[4];
        dropout_multipliers(plan, static_cast<uint64_t>(e0) / 4, m);
        for (int64_t e = e0; e < std::min(n, e0 + 4); ++e) out[e] = in[e] * m[e - e0];
    }
}

}  // namespace dynrec::cpu
