// Table-batched embeddings on CUDA (declarations usable from plain C++;
// `stream` is a cudaStream_t). The plan is the host-side validated layout;
// the launchers copy its arrays into `workspace` (device memory of
// tbe_workspace_bytes(...) bytes) with one asynchronous copy per call.
#pragma once

#include <cstdint>

#include "cpu/embedding_bag.h"

namespace dynrec::cuda {

int64_t tbe_workspace_bytes(const cpu::TbePlan& plan, int64_t batch);

// Copies the plan into the workspace (one asynchronous copy; every call
// below reads it from there), with `tables` (a host array of num_tables
// device pointers: the tables for tbe_forward, the gradient tables for
// tbe_backward_accumulate; NULL for tbe_backward_update).
void tbe_upload_plan(void* stream, const cpu::TbePlan& plan, const void* const* tables, void* workspace);

// Checks the ids on the device; one device-to-host copy + stream
// synchronize. Returns the flat index (b * S + slot) of the first invalid id
// or -1; *bad_id receives its value.
int64_t tbe_first_invalid_id(void* stream, const cpu::TbePlan& plan, int64_t batch, const int64_t* ids,
                             void* workspace, int64_t* bad_id);

// An id outside its table reads as padding here (masked, never out of
// bounds), whether or not tbe_first_invalid_id ran.
void tbe_forward(void* stream, const cpu::TbePlan& plan, int64_t batch, const int64_t* ids, float* out,
                 void* workspace);
void tbe_backward_update(void* stream, const cpu::TbePlan& plan, float* weights, int64_t batch, const int64_t* ids,
                         const float* grad_out, const cpu::SparseOptimizer& opt, void* workspace);
// Adds each touched row's gradient to its row of the uploaded gradient tables.
void tbe_backward_accumulate(void* stream, const cpu::TbePlan& plan, int64_t batch, const int64_t* ids,
                             const float* grad_out, void* workspace);

}  // namespace dynrec::cuda
