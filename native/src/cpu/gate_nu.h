// gate_nu on the CPU: delta = gamma * sigmoid(relu(x w1^T + b1) w2^T + b2).
// *_reference: naive loops, the spec. Unsuffixed: optimized (blocked GEMM +
// fused epilogues, OpenMP). Same signatures; arguments are pre-validated.
// Backward: grad_x is [batch, n_in_grad], the gradient of x's first n_in_grad
// columns (the rest of x is stop-gradient and never differentiated).
#pragma once

#include <cstdint>

namespace dynrec::cpu {

void gate_nu_forward_reference(int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
                               const float* x, const float* w1, const float* b1, const float* w2,
                               const float* b2, float gamma, float* hidden, float* delta);
void gate_nu_forward(int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
                     const float* x, const float* w1, const float* b1, const float* w2,
                     const float* b2, float gamma, float* hidden, float* delta);

void gate_nu_backward_reference(int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
                                const float* x, const float* w1, const float* w2, float gamma,
                                const float* hidden, const float* delta, const float* grad_delta,
                                int64_t n_in_grad, float* grad_x, float* grad_w1, float* grad_b1, float* grad_w2,
                                float* grad_b2);
void gate_nu_backward(int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
                      const float* x, const float* w1, const float* w2, float gamma,
                      const float* hidden, const float* delta, const float* grad_delta,
                      int64_t n_in_grad, float* grad_x, float* grad_w1, float* grad_b1, float* grad_w2,
                      float* grad_b2);

}  // namespace dynrec::cpu
