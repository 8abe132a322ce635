// dropout on the CPU: out[i] = in[i] * (kept(i) ? 1 / (1 - p) : 0), the mask a
// pure function of (seed, i) (common/dropout_plan.h), never stored.
// *_reference: one element at a time, the spec. Unsuffixed: blocks of
// Philox counters in parallel (OpenMP), the same multiplications, so the
// results are bit-identical. Same signatures; arguments are pre-validated;
// in == out is allowed.
#pragma once

#include <cstdint>

#include "common/dropout_plan.h"

namespace dynrec::cpu {

void dropout_reference(int64_t n, const DropoutPlan& plan, const float* in, float* out);
void dropout(int64_t n, const DropoutPlan& plan, const float* in, float* out);

}  // namespace dynrec::cpu
