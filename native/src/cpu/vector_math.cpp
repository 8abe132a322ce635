#include "cpu/vector_math.h"

#include <cmath>
#include <cstring>

namespace dynrec::cpu {

namespace {

// e^x for x clamped to [-87.3, 88.3] (so 2^n stays a normal float): x = n ln2
// + r with |r| <= ln2 / 2, e^r by polynomial, 2^n built in the exponent bits.
// Rounding to n uses the 1.5 * 2^23 trick, which vectorizes on every ISA
// (no rounding instruction or libm call). Branch-free.
static inline __attribute__((always_inline)) float exp_poly(float x) {
    x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    const float shifter = 12582912.0f;  // 1.5 * 2^23
    const float t = x * 1.44269504f + shifter;
    const float n = t - shifter;
    float r = x - n * 0.693359375f;  // ln 2 in two parts: the first is exact in 9 bits
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    // n + bias in the exponent field; unsigned, so a NaN's bits wrap instead of shifting a negative value.
    uint32_t ti;
    std::memcpy(&ti, &t, sizeof ti);
    const uint32_t bits = (ti - 0x4B400000u + 127u) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

}  // namespace

__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
void scaled_sigmoid(float* v, const float* bias, float gamma, int64_t n) {
    if (bias)
        for (int64_t j = 0; j < n; ++j) v[j] += bias[j];
    for (int64_t j = 0; j < n; ++j) v[j] = gamma / (1.0f + exp_poly(-v[j]));
}

void scaled_sigmoid_reference(const float* x, float gamma, float* y, int64_t n) {
    for (int64_t j = 0; j < n; ++j) y[j] = gamma / (1.0f + std::exp(-x[j]));
}

}  // namespace dynrec::cpu
