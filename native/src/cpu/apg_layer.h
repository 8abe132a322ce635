// apg_layer on the CPU: FunRec's APGLayer chain (see common/apg_plan.h).
// params / grads are indexed by ApgSlot (NULL = absent / not wanted).
// *_reference: the chain of reference ops (naive dense loops and
// hyper_linear's reference). Unsuffixed: optimized (see apg_layer.cpp).
// Arguments are pre-validated; saved may be NULL in the forward; y may be
// NULL in the backward only when the output activation is NONE.
#pragma once

#include <cstdint>

#include "common/apg_plan.h"

namespace dynrec::cpu {

void apg_layer_forward_reference(const ApgPlan& plan, const float* x, const float* z, const float* const* params,
                                 float* saved, float* y);
void apg_layer_forward(const ApgPlan& plan, const float* x, const float* z, const float* const* params, float* saved,
                       float* y);

void apg_layer_backward_reference(const ApgPlan& plan, const float* x, const float* z, const float* const* params,
                                  const float* saved, const float* y, const float* grad_y, float* grad_x,
                                  float* grad_z, float* const* grads);
void apg_layer_backward(const ApgPlan& plan, const float* x, const float* z, const float* const* params,
                        const float* saved, const float* y, const float* grad_y, float* grad_x, float* grad_z,
                        float* const* grads);

}  // namespace dynrec::cpu
