// The dropout rule shared by the CPU and CUDA kernels (see dynrec_dropout):
// element i is kept when the top 24 bits of word i % 4 of
// Philox4x32-10(key = seed, counter = i / 4) are >= threshold, i.e. when
// u = bits / 2^24 >= p; kept elements are scaled by 1 / (1 - p). Integer
// thresholds make the decision identical on every device.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/philox.h"

namespace dynrec {

struct DropoutPlan {
    uint32_t threshold;  // keep when (word >> 8) >= threshold; 2^24 drops everything
    float scale;         // 1 / (1 - p), 0 when p = 1
    uint32_t key0, key1; // the seed's halves
};

inline DropoutPlan make_dropout_plan(float p, uint64_t seed) {
    DropoutPlan plan{};
    plan.threshold = static_cast<uint32_t>(std::ceil(static_cast<double>(p) * 16777216.0));
    plan.scale = p < 1.0f ? static_cast<float>(1.0 / (1.0 - static_cast<double>(p))) : 0.0f;
    plan.key0 = static_cast<uint32_t>(seed);
    plan.key1 = static_cast<uint32_t>(seed >> 32);
    return plan;
}

// The multipliers (0 or scale) of elements 4 * block .. 4 * block + 3.
DYNREC_HOST_DEVICE void dropout_multipliers(const DropoutPlan& plan, uint64_t block, float m[4]) {
    const Philox4 r = philox4x32_10(static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32), 0u, 0u,
                                    plan.key0, plan.key1);
    for (int k = 0; k < 4; ++k) m[k] = (r.v[k] >> 8) >= plan.threshold ? plan.scale : 0.0f;
}

}  // namespace dynrec
