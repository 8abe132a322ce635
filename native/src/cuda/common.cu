#include "cuda/common.cuh"

#include <atomic>
#include <climits>
#include <initializer_list>

#include "common/math_mode.h"

namespace dynrec::cuda {

void check_cublas(cublasStatus_t status, const char* what) {
    if (status == CUBLAS_STATUS_SUCCESS) return;
    throw Error(status == CUBLAS_STATUS_ALLOC_FAILED ? DYNREC_ERR_OUT_OF_MEMORY : DYNREC_ERR_CUDA,
                std::string(what) + ": cuBLAS status " + std::to_string(static_cast<int>(status)) + ": " +
                    cublasGetStatusString(status));
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

bool device_has_tf32() {
    static std::atomic<int> major[kMaxDevices];  // 0 = not asked yet
    int device = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    if (device < 0 || device >= kMaxDevices) return false;
    int m = major[device].load(std::memory_order_relaxed);
    if (m == 0) {
        check(cudaDeviceGetAttribute(&m, cudaDevAttrComputeCapabilityMajor, device),
              "cudaDeviceGetAttribute(compute capability)");
        major[device].store(m, std::memory_order_relaxed);
    }
    return m >= 8;
}

namespace {
// cuBLAS takes int sizes: a dimension past INT_MAX would wrap silently.
void check_int_dims(const char* what, std::initializer_list<int64_t> dims) {
    for (int64_t d : dims)
        if (d > INT_MAX)
            throw_unsupported(std::string(what) + ": a GEMM dimension or leading dimension exceeds INT_MAX (" +
                              std::to_string(d) + ")");
}
}  // namespace

void sgemm(void* stream, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
    check_int_dims("cublasSgemm", {m, n, k, lda, ldb, ldc});
    // Row-major C = op(A) op(B)  <=>  column-major C^T = op(B)^T op(A)^T,
    // and a row-major X read column-major is X^T: swap operands, keep flags.
    check_cublas(cublasSgemm(blas(stream), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                             trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(n), static_cast<int>(m),
                             static_cast<int>(k), &alpha, b, static_cast<int>(ldb), a, static_cast<int>(lda),
                             &beta, c, static_cast<int>(ldc)),
                 "cublasSgemm");
}

void sgemm_strided_batched(void* stream, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                           const float* a, int64_t lda, int64_t stride_a, const float* b, int64_t ldb,
                           int64_t stride_b, float beta, float* c, int64_t ldc, int64_t stride_c, int64_t count) {
    if (count == 1) {
        sgemm(stream, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    check_int_dims("cublasSgemmStridedBatched", {m, n, k, lda, ldb, ldc, count});
    // Same operand swap as sgemm (row-major C^T = op(B)^T op(A)^T in cuBLAS's column-major view).
    check_cublas(cublasSgemmStridedBatched(blas(stream), trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                           trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, static_cast<int>(n),
                                           static_cast<int>(m), static_cast<int>(k), &alpha, b, static_cast<int>(ldb),
                                           stride_b, a, static_cast<int>(lda), stride_a, &beta, c,
                                           static_cast<int>(ldc), stride_c, static_cast<int>(count)),
                 "cublasSgemmStridedBatched");
}

namespace {
// A block owns 32 columns; its 32 x 32 threads each sum every 32nd row of one
// column (coalesced across threadIdx.x), then a fixed-order tree in shared
// memory combines the 32 row slices: deterministic, no scratch, and ~rows/32
// sequential loads per thread instead of rows.
__global__ void column_sums_kernel(int64_t rows, int64_t cols, const float* __restrict__ m,
                                   float* __restrict__ out) {
    __shared__ float part[32][33];
    const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
    const int64_t col = blockIdx.x * int64_t(32) + tx;
    float acc = 0.0f;
    if (col < cols)
        for (int64_t r = ty; r < rows; r += 32) acc += m[r * cols + col];
    part[ty][tx] = acc;
    __syncthreads();
    for (int half = 16; half > 0; half /= 2) {
        if (ty < half) part[ty][tx] += part[ty + half][tx];
        __syncthreads();
    }
    if (ty == 0 && col < cols) out[col] = part[0][tx];
}
}  // namespace

void column_sums(void* stream, int64_t rows, int64_t cols, const float* m, float* out) {
    const int64_t blocks = (cols + 31) / 32;
    if (blocks > 0x7fffffff) throw Error(DYNREC_ERR_UNSUPPORTED, "column_sums: too many columns");
    column_sums_kernel<<<static_cast<unsigned>(blocks), dim3(32, 32), 0, as_stream(stream)>>>(rows, cols, m, out);
    check_launch("column_sums_kernel");
}

}  // namespace dynrec::cuda
