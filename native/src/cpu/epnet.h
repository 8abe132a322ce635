// epnet on the CPU: out = delta * E with delta = gamma * sigmoid(relu(
// concat(domain, sg(E)) w1^T + b1) w2^T + b2); sg = stop-gradient.
// *_reference: naive loops over an explicit concat row (the spec).
// Unsuffixed: optimized, the concat is never formed. Arguments are
// pre-validated; hidden and delta may be NULL in the forward.
#pragma once

#include <cstdint>

#include "common/shapes.h"

namespace dynrec::cpu {

void epnet_forward_reference(const EpnetShape& s, const float* domain, const float* emb, const float* w1,
                             const float* b1, const float* w2, const float* b2, float gamma, float* hidden,
                             float* delta, float* out);
void epnet_forward(const EpnetShape& s, const float* domain, const float* emb, const float* w1, const float* b1,
                   const float* w2, const float* b2, float gamma, float* hidden, float* delta, float* out);

void epnet_backward_reference(const EpnetShape& s, const float* domain, const float* emb, const float* w1,
                              const float* w2, float gamma, const float* hidden, const float* delta,
                              const float* grad_out, float* grad_domain, float* grad_emb, float* grad_w1,
                              float* grad_b1, float* grad_w2, float* grad_b2);
void epnet_backward(const EpnetShape& s, const float* domain, const float* emb, const float* w1, const float* w2,
                    float gamma, const float* hidden, const float* delta, const float* grad_out, float* grad_domain,
                    float* grad_emb, float* grad_w1, float* grad_b1, float* grad_w2, float* grad_b2);

}  // namespace dynrec::cpu
