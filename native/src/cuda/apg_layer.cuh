// apg_layer on CUDA (declarations usable from plain C++; `stream` is a
// cudaStream_t). Arguments are validated by the API layer; params / grads
// are indexed by ApgSlot.
#pragma once

#include <cstdint>

#include "common/apg_plan.h"

namespace dynrec::cuda {

// Scratch: two [batch, widest step] gradient buffers (backward), then the
// generated steps' split-K partial sums (forward and backward).
int64_t apg_layer_workspace_bytes(const ApgPlan& plan);

// `saved` is required on CUDA; `workspace` (apg_layer_workspace_bytes) may be
// NULL: the generated steps' GEMMs then run unsplit.
void apg_layer_forward(void* stream, const ApgPlan& plan, const float* x, const float* z, const float* const* params,
                       float* saved, float* y, void* workspace);

void apg_layer_backward(void* stream, const ApgPlan& plan, const float* x, const float* z,
                        const float* const* params, const float* saved, const float* y, const float* grad_y,
                        float* grad_x, float* grad_z, float* const* grads, void* workspace);

}  // namespace dynrec::cuda
