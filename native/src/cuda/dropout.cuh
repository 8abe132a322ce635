// dropout on CUDA: one thread per Philox counter (4 elements), the CPU's rule
// (common/dropout_plan.h), so the output is bit-identical to the CPU's.
#pragma once

#include <cstdint>

#include "common/dropout_plan.h"

namespace dynrec::cuda {

void dropout(void* stream, int64_t n, const DropoutPlan& plan, const float* in, float* out);

}  // namespace dynrec::cuda
