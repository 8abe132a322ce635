// hyper_linear on the CPU when consecutive rows share a condition
// (rows_per_cond R > 1: M2M's meta units see every expert and task row of a
// sample with the sample's scenario condition). The per-row paths pay
// n_cond n_in n_out multiply-adds for every row; here S_g = reshape(z_g g_w^T
// + g_b) is generated once per group of R rows and applied to them, so a
// group costs n_cond n_in n_out + R n_in n_out instead of R n_cond n_in n_out.
// Same contract as hyper_linear_forward / _backward_pre (hyper_linear.h);
// hyper_linear.cpp routes every R > 1 call here.
#pragma once

#include <cstdint>

#include "common/shapes.h"

namespace dynrec::cpu {

void hyper_grouped_forward(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                           const float* g_b, const float* c_w, const float* c_b, int32_t activation, float* y);

void hyper_grouped_backward_pre(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                                const float* g_b, const float* c_w, const float* gpre, const HyperLinearGrads& grads,
                                int32_t x_activation, bool accumulate_z);

}  // namespace dynrec::cpu
