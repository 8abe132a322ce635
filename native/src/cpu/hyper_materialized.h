// hyper_linear on the CPU for small batches: the outer-product kernels of
// hyper_linear.cpp pack all of the generator (O(params)) on every call, a cost
// that does not shrink with the batch; here the generator g_w is read in place
// by plain GEMMs and the only per-call intermediate is [batch, n_out * n_cond]
// (at most kMaterializedMaxFloats floats; hyper_linear_materialized() picks
// this path only then). Same contract as hyper_linear_forward / _backward_pre.
#pragma once

#include <cstdint>

#include "common/shapes.h"

namespace dynrec::cpu {

// The largest intermediate (batch * n_out * n_cond floats, 16 MiB) this path forms.
constexpr int64_t kMaterializedMaxFloats = int64_t(4) << 20;

void hyper_materialized_forward(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                                const float* g_b, const float* c_w, const float* c_b, int32_t activation, float* y);

void hyper_materialized_backward_pre(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                                     const float* g_b, const float* c_w, const float* gpre,
                                     const HyperLinearGrads& grads, int32_t x_activation, bool accumulate_z);

}  // namespace dynrec::cpu
