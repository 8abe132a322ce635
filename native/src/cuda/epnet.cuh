// epnet on CUDA (declarations usable from plain C++; `stream` is a
// cudaStream_t). Arguments are validated by the API layer.
#pragma once

#include <cstdint>

#include "common/shapes.h"

namespace dynrec::cuda {

// Backward scratch: d(a2) [batch, n_emb] and d(a1) [batch, n_hidden].
int64_t epnet_workspace_bytes(const EpnetShape& s);

// `hidden` is required (it doubles as the forward's scratch); delta may be NULL.
void epnet_forward(void* stream, const EpnetShape& s, const float* domain, const float* emb, const float* w1,
                   const float* b1, const float* w2, const float* b2, float gamma, float* hidden, float* delta,
                   float* out);

void epnet_backward(void* stream, const EpnetShape& s, const float* domain, const float* emb, const float* w1,
                    const float* w2, float gamma, const float* hidden, const float* delta, const float* grad_out,
                    float* grad_domain, float* grad_emb, float* grad_w1, float* grad_b1, float* grad_w2,
                    float* grad_b2, void* workspace);

}  // namespace dynrec::cuda
