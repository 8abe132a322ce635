// Multi-tensor Adam / AdamW on CUDA (declarations usable from plain C++;
// `stream` is a cudaStream_t). Pointer arrays are host arrays of device
// pointers; they are copied into `workspace` (adam_workspace_bytes(...)
// bytes of device memory) with one asynchronous copy.
#pragma once

#include <cstdint>

#include "cpu/optimizer.h"

namespace dynrec::cuda {

int64_t adam_workspace_bytes(int64_t n, const int64_t* numels);

// grad_norm_out: device pointer or NULL.
void adam_step(void* stream, int64_t n, float* const* params, const float* const* grads, float* const* exp_avgs,
               float* const* exp_avg_sqs, const int64_t* numels, const cpu::AdamConfig& c, float* grad_norm_out,
               void* workspace);

}  // namespace dynrec::cuda
