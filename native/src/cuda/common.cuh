// Shared CUDA plumbing: error checks that throw dynrec::Error(DYNREC_ERR_CUDA)
// with the runtime's text, a per-thread cuBLAS handle, row-major GEMM on top
// of column-major cuBLAS, and small launch helpers.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "common/error.h"

namespace dynrec::cuda {

inline void check(cudaError_t err, const char* what) {
    if (err != cudaSuccess) {
        cudaGetLastError();
        throw Error(err == cudaErrorMemoryAllocation ? DYNREC_ERR_OUT_OF_MEMORY : DYNREC_ERR_CUDA,
                    std::string(what) + ": " + cudaGetErrorName(err) + ": " + cudaGetErrorString(err));
    }
}

void check_cublas(cublasStatus_t status, const char* what);

// Checks the last launch without synchronizing.
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

// Whether the current device has TF32 tensor cores (compute capability >= 8.0);
// cached per device. Our WMMA TF32 kernels compile to nothing below sm_80.
bool device_has_tf32();

// cuBLAS handle for the current thread and device, bound to `stream`.
cublasHandle_t blas(void* stream);

// Row-major C[m,n] = alpha op(A) op(B) + beta C (same contract as cpu::sgemm).
void sgemm(void* stream, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// `count` independent row-major GEMMs in one launch: C_t = alpha op(A_t) op(B_t) + beta C_t
// with X_t = X + t * stride_x (stride 0: shared operand).
void sgemm_strided_batched(void* stream, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                           const float* a, int64_t lda, int64_t stride_a, const float* b, int64_t ldb,
                           int64_t stride_b, float beta, float* c, int64_t ldc, int64_t stride_c, int64_t count);

// out[c] = sum_r m[r, c], fixed order (deterministic).
void column_sums(void* stream, int64_t rows, int64_t cols, const float* m, float* out);

inline unsigned int blocks_for(int64_t n, int threads) {
    const int64_t b = (n + threads - 1) / threads;
    return static_cast<unsigned int>(b < 65535 * 16 ? b : 65535 * 16);
}

inline cudaStream_t as_stream(void* stream) { return static_cast<cudaStream_t>(stream); }

// Grid-stride loop over [0, n) for the elementwise kernels.
#define DYNREC_CUDA_FOR(t, n)                                                                \
    for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < (n);                 \
         t += int64_t(gridDim.x) * blockDim.x)

// Device twins of cpu/activation.h (derivative from the output).
__device__ __forceinline__ float activate_dev(int32_t act, float v) {
    switch (act) {
        case DYNREC_ACT_RELU: return v > 0.0f ? v : 0.0f;
        case DYNREC_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
        case DYNREC_ACT_TANH: return tanhf(v);
        case DYNREC_ACT_LEAKY_RELU: return v > 0.0f ? v : 0.01f * v;
        default: return v;
    }
}

__device__ __forceinline__ float activation_grad_dev(int32_t act, float y) {
    switch (act) {
        case DYNREC_ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
        case DYNREC_ACT_SIGMOID: return y * (1.0f - y);
        case DYNREC_ACT_TANH: return 1.0f - y * y;
        case DYNREC_ACT_LEAKY_RELU: return y > 0.0f ? 1.0f : 0.01f;
        default: return 1.0f;
    }
}

}  // namespace dynrec::cuda
