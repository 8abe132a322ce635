#include "cuda/common.cuh"

#include "common/math_mode.h"

namespace dynrec::cuda {

void check_cublas(cublasStatus_t status, const char* what) {
    if (status == CUBLAS_STATUS_SUCCESS) return;
    throw Error(status == CUBLAS_STATUS_ALLOC_FAILED ? DYNREC_ERR_OUT_OF_MEMORY : DYNREC_ERR_CUDA,
                std::string(what) + ": cuBLAS status " + std::to_string(static_cast<int>(status)));
}

namespace {
// One handle per device per thread (cuBLAS handles are not thread-safe to
// share while changing streams). Plain array: nvcc 11.8 + clang 14 chokes on
// parts of libstdc++ 12 (<map>), so device code avoids heavy STL headers.
constexpr int kMaxDevices = 64;
struct HandleCache {
    cublasHandle_t by_device[kMaxDevices] = {};
    ~HandleCache() {
        for (auto h : by_device)
            if (h) cublasDestroy(h);
    }
};
}  // namespace

cublasHandle_t blas(void* stream) {
    thread_local HandleCache cache;
    int device = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    if (device < 0 || device >= kMaxDevices) throw Error(DYNREC_ERR_UNSUPPORTED, "CUDA device index above 63");
    cublasHandle_t& h = cache.by_device[device];
    if (h == nullptr) {
        check_cublas(cublasCreate(&h), "cublasCreate");
    }
    check_cublas(cublasSetStream(h, as_stream(stream)), "cublasSetStream");
    // TF32 tensor cores only when allowed (dynrec_cuda_set_tf32 / DYNREC_CUDA_TF32).
    check_cublas(cublasSetMathMode(h, cuda_tf32_enabled() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                 "cublasSetMathMode");
    return h;
}

void sgemm(void* stream, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
    // Row-major C = op(A) op(B)  <=>  column-major C^T = op(B)^T op(A)^T,
    // and a row-major X read column-major is X^T: swap operands, keep flags.
    check_cublas(cublasSgemm(blas(stream), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                             trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                             static_cast<int>(k), &alpha, b, static_cast<int>(ldb), a, static_cast<int>(lda),
                             &beta, c, static_cast<int>(ldc)),
                 "cublasSgemm");
}

namespace {
// One thread per column; each walks the rows in order (coalesced across the
// warp, deterministic). 8 row-slices per column are summed in a fixed order.
__global__ void column_sums_kernel(int64_t rows, int64_t cols, const float* __restrict__ m,
                                   float* __restrict__ out) {
    const int64_t col = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (col >= cols) return;
    float acc = 0.0f;
    for (int64_t r = 0; r < rows; ++r) acc += m[r * cols + col];
    out[col] = acc;
}
}  // namespace

void column_sums(void* stream, int64_t rows, int64_t cols, const float* m, float* out) {
    column_sums_kernel<<<blocks_for(cols, 128), 128, 0, as_stream(stream)>>>(rows, cols, m, out);
    check_launch("column_sums_kernel");
}

}  // namespace dynrec::cuda
