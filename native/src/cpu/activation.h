// Elementwise activations and their derivatives. Every derivative is written
// in terms of the activation's *output* y, so backward passes only need what
// the forward kept (all supported activations are invertible-by-sign).
#pragma once

#include <cmath>
#include <cstdint>

#include "cpu/vector_math.h"
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

// v[j] = act(v[j] + bias[j]) for j < n (bias may be NULL). The switch sits
// outside the loop so each case vectorizes.
inline void bias_activate(int32_t act, float* v, const float* bias, int64_t n) {
    if (bias)
        for (int64_t j = 0; j < n; ++j) v[j] += bias[j];
    switch (act) {
        case DYNREC_ACT_RELU:
            for (int64_t j = 0; j < n; ++j) v[j] = v[j] > 0.0f ? v[j] : 0.0f;
            break;
        case DYNREC_ACT_LEAKY_RELU:
            for (int64_t j = 0; j < n; ++j) v[j] = v[j] > 0.0f ? v[j] : kLeakySlope * v[j];
            break;
        case DYNREC_ACT_SIGMOID:
            cpu::scaled_sigmoid(v, nullptr, 1.0f, n);
            break;
        case DYNREC_ACT_TANH:
            for (int64_t j = 0; j < n; ++j) v[j] = std::tanh(v[j]);
            break;
        default: break;
    }
}

// g[j] *= act'(.) given y[j] = act(.), for j < n.
inline void mul_activation_grad(int32_t act, const float* y, float* g, int64_t n) {
    switch (act) {
        case DYNREC_ACT_RELU:
            for (int64_t j = 0; j < n; ++j) g[j] = y[j] > 0.0f ? g[j] : 0.0f;
            break;
        case DYNREC_ACT_LEAKY_RELU:
            for (int64_t j = 0; j < n; ++j) g[j] = y[j] > 0.0f ? g[j] : kLeakySlope * g[j];
            break;
        case DYNREC_ACT_SIGMOID:
            for (int64_t j = 0; j < n; ++j) g[j] *= y[j] * (1.0f - y[j]);
            break;
        case DYNREC_ACT_TANH:
            for (int64_t j = 0; j < n; ++j) g[j] *= 1.0f - y[j] * y[j];
            break;
        default: break;
    }
}

}  // namespace dynrec
