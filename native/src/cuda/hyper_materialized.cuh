// hyper_linear's materialized path on CUDA: S = z g_w^T is formed by cuBLAS for
// a chunk of condition rows at a time in the caller's workspace, then applied
// row by row (with rows_per_cond > 1, each S to its group of rows: the only
// path that then takes).
// Every reduction is a cuBLAS GEMM or a fixed-order kernel, so results are
// deterministic. Chosen over the outer-product GEMMs (hyper_linear.cu) by
// dynrec_cuda_set_hyper_path / the shape; arguments are validated by the API layer.
#pragma once

#include <cstdint>

#include "common/shapes.h"

namespace dynrec::cuda {

// Condition rows whose S is formed at once: all of them up to cuda_hyper_chunk_floats() (64 MiB),
// fewer for wide layers.
int64_t hyper_materialized_chunk_rows(const HyperLinearShape& s);

// Floats of scratch both directions need: chunk x n_in x n_out (+ chunk x n_out with shared conditions).
int64_t hyper_materialized_workspace_floats(const HyperLinearShape& s);

void hyper_materialized_forward(void* stream, const HyperLinearShape& s, const float* x, const float* z,
                                const float* g_w, const float* g_b, const float* c_w, const float* c_b,
                                int32_t activation, float* y, float* workspace);

// From gpre = dL/d(pre-activation); same contract as hyper_linear_backward_pre.
void hyper_materialized_backward_pre(void* stream, const HyperLinearShape& s, const float* x, const float* z,
                                     const float* g_w, const float* g_b, const float* c_w, const float* gpre,
                                     const HyperLinearGrads& g, int32_t x_activation, bool accumulate_z,
                                     float* workspace);

}  // namespace dynrec::cuda
