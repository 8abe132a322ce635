// Dense layers with the epilogue fused into the GEMM (the forward steps of
// gate_nu, gated_linear and epnet), on the tiled engine of tile_gemm.cuh.
// For each of `towers` problems t (one launch; blockIdx.z = t):
//
//   A_t[i, k] = (k < k_split ? x[t*x_tower_stride + i*ldx + k]
//                            : x2[i*ldx2 + k - k_split])        (a concat, never formed)
//               * in_gate[i*ld_in_gate + t*K + k]              (INPUT gate, optional)
//   s = A_t[i, :] . w[t*w_tower_stride + n*ldw + :] + bias[t*N + n]
//   a = gate_output ? gamma * sigmoid(s) : act(s)
//   act_out[(t*M + i)*N + n] = a                               (optional)
//   y[(t*M + i)*ldy + n] = a * out_gate[i*ld_out_gate + t*N + n] (OUTPUT gate, optional)
//
// W uses torch.nn.Linear's [out, in] layout.
#pragma once

#include <cstdint>

namespace dynrec::cuda {

struct FusedDenseInput {
    const float* x;
    int64_t ldx, x_tower_stride;  // x_tower_stride 0: every tower reads the same x
    const float* x2 = nullptr;    // columns k >= k_split come from x2
    int64_t ldx2 = 0, k_split = 0;
    const float* in_gate = nullptr;
    int64_t ld_in_gate = 0;
};

struct FusedDenseWeight {
    const float* w;
    int64_t ldw, tower_stride;
    const float* bias;  // [towers * N] or NULL
};

struct FusedDenseEpilogue {
    int32_t activation = 0;    // dynrec_activation; ignored for a gate output
    bool gate_output = false;  // a = gamma * sigmoid(s): the GateNU output
    float gamma = 0.0f;
    float* act_out = nullptr;   // [towers, M, N]
    const float* out_gate = nullptr;
    int64_t ld_out_gate = 0;
};

// towers problems of y_t = epilogue(A_t W_t^T), M rows, N outputs, reduction K.
void fused_dense_forward(void* stream, int64_t towers, int64_t m, int64_t n, int64_t k, const FusedDenseInput& in,
                         const FusedDenseWeight& w, const FusedDenseEpilogue& e, float* y, int64_t ldy);

}  // namespace dynrec::cuda
