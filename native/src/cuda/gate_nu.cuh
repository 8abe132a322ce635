// gate_nu on CUDA (declarations usable from plain C++; `stream` is a
// cudaStream_t). Arguments are validated by the API layer.
#pragma once

#include <cstdint>

namespace dynrec::cuda {

int64_t gate_nu_workspace_bytes(int64_t batch, int64_t n_hidden, int64_t n_out);

void gate_nu_forward(void* stream, int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
                     const float* x, const float* w1, const float* b1, const float* w2,
                     const float* b2, float gamma, float* hidden, float* delta);

// `workspace` holds gate_nu_workspace_bytes(...) bytes.
void gate_nu_backward(void* stream, int64_t batch, int64_t n_in, int64_t n_hidden, int64_t n_out,
                      const float* x, const float* w1, const float* w2, float gamma,
                      const float* hidden, const float* delta, const float* grad_delta,
                      int64_t n_in_grad, float* grad_x, float* grad_w1, float* grad_b1, float* grad_w2,
                      float* grad_b2, void* workspace);

}  // namespace dynrec::cuda
