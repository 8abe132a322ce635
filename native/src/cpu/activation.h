// Elementwise activations and their derivatives. Every derivative is written
// in terms of the activation's *output* y, so backward passes only need what
// the forward kept (all supported activations are invertible-by-sign).
#pragma once

#include <cmath>
#include <cstdint>

#include "dynrec/dynrec.h"

namespace dynrec {

constexpr float kLeakySlope = 0.01f;

inline float sigmoidf(float v) { return 1.0f / (1.0f + std::exp(-v)); }

inline float activate(int32_t act, float v) {
    switch (act) {
        case DYNREC_ACT_RELU: return v > 0.0f ? v : 0.0f;
        case DYNREC_ACT_SIGMOID: return sigmoidf(v);
        case DYNREC_ACT_TANH: return std::tanh(v);
        case DYNREC_ACT_LEAKY_RELU: return v > 0.0f ? v : kLeakySlope * v;
        default: return v;
    }
}

// d act / d pre-activation, given y = act(pre-activation).
inline float activation_grad_from_output(int32_t act, float y) {
    switch (act) {
        case DYNREC_ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
        case DYNREC_ACT_SIGMOID: return y * (1.0f - y);
        case DYNREC_ACT_TANH: return 1.0f - y * y;
        case DYNREC_ACT_LEAKY_RELU: return y > 0.0f ? 1.0f : kLeakySlope;
        default: return 1.0f;
    }
}

}  // namespace dynrec
