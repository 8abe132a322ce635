// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11; the constants of Random123, cuRAND and PyTorch's CUDA generator): a
// counter-based generator. Its output is a pure function of (key, counter), so
// any element of a random stream is computed alone, in any order, by any
// thread, on the CPU or the GPU, with identical results.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define DYNREC_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define DYNREC_HOST_DEVICE inline
#endif

namespace dynrec {

struct Philox4 {
    uint32_t v[4];
};

DYNREC_HOST_DEVICE Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0,
                                         uint32_t k1) {
    constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;  // round multipliers
    constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;  // key schedule (golden ratio, sqrt(3) - 1)
    for (int round = 0; round < 10; ++round) {
        const uint64_t p0 = uint64_t(kM0) * c0, p1 = uint64_t(kM1) * c2;
        const uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0), hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += kW0;
        k1 += kW1;
    }
    return Philox4{{c0, c1, c2, c3}};
}

}  // namespace dynrec
