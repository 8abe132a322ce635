// Elementwise transcendental loops of the optimized CPU kernels, vectorized.
// libm's expf is a scalar call per element (~15 cycles): at PEPNet sizes the
// gates' sigmoids cost a noticeable share of a GEMM. Here exp is a Cephes-
// style range reduction + degree-6 polynomial (relative error < 2e-7 over
// the clamped range) written so the compiler vectorizes it, in AVX-512,
// AVX2 and baseline clones. The reference kernels keep std::exp.
#pragma once

#include <cstdint>

namespace dynrec::cpu {

// v[j] = gamma * sigmoid(v[j] + bias[j]) for j < n; bias may be NULL.
void scaled_sigmoid(float* v, const float* bias, float gamma, int64_t n);

// y[j] = gamma * sigmoid(x[j]) for j < n, one element at a time with
// std::exp: the definition the tests compare scaled_sigmoid against.
void scaled_sigmoid_reference(const float* x, float gamma, float* y, int64_t n);

}  // namespace dynrec::cpu
