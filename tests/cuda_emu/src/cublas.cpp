// Emulated cuBLAS GEMMs: column-major, as the real library. For op(X) =
// X or X^T, with X stored column-major (element (r, c) at X[r + c * ld]):
//   C[i + j*ldc] = alpha * sum_l op(A)(i, l) op(B)(l, j) + beta * C[i + j*ldc]
// and C is not read when beta == 0 (NaN there must not leak, as on the GPU).
// Argument checks follow cuBLAS (INVALID_VALUE for negative sizes or a leading
// dimension below the rows it must hold); pointers that are not device
// memory of the handle's device, or ranges past an allocation, are fatal.
// On a capturing stream a GEMM is checked and recorded with its arguments by
// value (alpha, beta as they are at the call); the operands are read, and
// their ranges checked, when the graph runs.
#include <cublas_v2.h>

#include <vector>

#include "state.h"

struct cublasContext {
    int device;
    cudaStream_t stream;
    cublasMath_t mode;
};

namespace {

struct Operand {
    const float* p;
    int ld;
    bool trans;
    // op(X)(i, j)
    float at(int i, int j) const { return trans ? p[j + size_t(i) * ld] : p[i + size_t(j) * ld]; }
};

size_t extent_bytes(int rows, int cols, int ld) {
    return rows == 0 || cols == 0 ? 0 : (size_t(cols - 1) * size_t(ld) + size_t(rows)) * sizeof(float);
}

// A stored matrix of rows x cols (before op) must lie in one allocation of `device`.
void check_range(const char* fn, const char* name, const void* p, int rows, int cols, int ld, int device) {
    if (rows == 0 || cols == 0) return;
    const size_t bytes = extent_bytes(rows, cols, ld);
    const int d = emu::device_of_range(p, bytes);
    if (d != device)
        emu::fatal("%s: %s (%p, %d x %d, ld %d = %zu bytes) is %s", fn, name, p, rows, cols, ld, bytes,
                   d < 0 ? "not inside one device allocation (host memory, or past the allocation's end)"
                         : "memory of another device than the handle's");
}

// One GEMM call, everything by value (alpha and beta as they were at the call,
// as cuBLAS reads them in host pointer mode), so a stream capture can keep it.
struct Gemm {
    const char* fn;
    int device;
    bool tf32, a_t, b_t;
    int m, n, k;
    float alpha, beta;
    const float* A;
    int lda;
    long long sa;
    const float* B;
    int ldb;
    long long sb;
    float* C;
    int ldc;
    long long sc;
    int batch;
};

// Reads A, B (and C unless beta is 0) and writes C now; the operand ranges
// must lie in allocations of the handle's device now (fatal otherwise).
void run_gemm(const Gemm& g) {
    const char* fn = g.fn;
    const int m = g.m, n = g.n, k = g.k;
    const int a_rows = g.a_t ? k : m, a_cols = g.a_t ? m : k, b_rows = g.b_t ? n : k, b_cols = g.b_t ? k : n;
    const double al = g.alpha, be = g.beta;
    const bool reads_ab = k > 0 && al != 0.0;
    std::vector<double> pa(size_t(m) * k), pb(size_t(n) * k);  // op(A) by rows, op(B) by columns
    for (int t = 0; t < g.batch; ++t) {
        const float* a = reads_ab ? g.A + t * g.sa : nullptr;  // A, B may be NULL when not read
        const float* b = reads_ab ? g.B + t * g.sb : nullptr;
        float* c = g.C + t * g.sc;
        if (reads_ab) {
            check_range(fn, "A", a, a_rows, a_cols, g.lda, g.device);
            check_range(fn, "B", b, b_rows, b_cols, g.ldb, g.device);
        }
        check_range(fn, "C", c, m, n, g.ldc, g.device);
        if (reads_ab) {  // an in-place GEMM is undefined in cuBLAS (the shim would get it right)
            const auto* c0 = reinterpret_cast<const char*>(c);
            const size_t cb = extent_bytes(m, n, g.ldc);
            const struct {
                const char* name;
                const void* p;
                size_t bytes;
            } ins[] = {{"A", a, extent_bytes(a_rows, a_cols, g.lda)}, {"B", b, extent_bytes(b_rows, b_cols, g.ldb)}};
            for (const auto& in : ins) {
                const auto* i0 = static_cast<const char*>(in.p);
                if (i0 < c0 + cb && c0 < i0 + in.bytes)
                    emu::fatal("%s: C overlaps %s (cuBLAS reads its inputs while it writes C)", fn, in.name);
            }
        }
        if (reads_ab) {
            const Operand oa{a, g.lda, g.a_t}, ob{b, g.ldb, g.b_t};
            for (int i = 0; i < m; ++i)
                for (int l = 0; l < k; ++l) {
                    const float v = oa.at(i, l);
                    pa[size_t(i) * k + l] = g.tf32 ? emu::round_to_tf32(v) : v;
                }
            for (int j = 0; j < n; ++j)
                for (int l = 0; l < k; ++l) {
                    const float v = ob.at(l, j);
                    pb[size_t(j) * k + l] = g.tf32 ? emu::round_to_tf32(v) : v;
                }
        }
        for (int j = 0; j < n; ++j)
            for (int i = 0; i < m; ++i) {
                double acc = 0.0;
                if (reads_ab) {
                    const double* ra = &pa[size_t(i) * k];
                    const double* rb = &pb[size_t(j) * k];
                    for (int l = 0; l < k; ++l) acc += ra[l] * rb[l];
                }
                float& out = c[i + size_t(j) * g.ldc];
                out = static_cast<float>(al * acc + (be == 0.0 ? 0.0 : be * double(out)));
            }
    }
}

// Checks the arguments as cuBLAS does at the call, then runs the GEMM or, on a
// capturing stream, records it (replayed by cudaGraphLaunch).
cublasStatus_t gemm(const char* fn, cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                    const float* alpha, const float* A, int lda, long long sa, const float* B, int ldb, long long sb,
                    const float* beta, float* C, int ldc, long long sc, int batch) {
    if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
    const auto valid_op = [](cublasOperation_t o) { return o == CUBLAS_OP_N || o == CUBLAS_OP_T || o == CUBLAS_OP_C; };
    if (!valid_op(ta) || !valid_op(tb) || m < 0 || n < 0 || k < 0 || batch < 0 || !alpha || !beta)
        return CUBLAS_STATUS_INVALID_VALUE;
    const bool a_t = ta != CUBLAS_OP_N, b_t = tb != CUBLAS_OP_N;  // real data: C == T
    const int a_rows = a_t ? k : m, b_rows = b_t ? n : k;
    if (lda < (a_rows > 1 ? a_rows : 1) || ldb < (b_rows > 1 ? b_rows : 1) || ldc < (m > 1 ? m : 1))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;
    if (emu::current_device() != h->device)
        emu::fatal("%s: handle of device %d used while device %d is current", fn, h->device, emu::current_device());
    if (emu::stream_device(h->stream) != h->device)
        emu::fatal("%s: handle of device %d bound to a stream of device %d", fn, h->device,
                   emu::stream_device(h->stream));
    if (batch > 1 && sc == 0) emu::fatal("%s: strideC 0 with %d batches: every GEMM writes the same C", fn, batch);
    const Gemm g{fn, h->device, (h->mode & 0xf) == CUBLAS_TF32_TENSOR_OP_MATH, a_t, b_t, m, n, k, *alpha, *beta,
                 A, lda, sa, B, ldb, sb, C, ldc, sc, batch};
    cudaError_t error;
    switch (emu::issue(h->stream, fn, &error)) {
        case emu::Issue::Refused: return CUBLAS_STATUS_EXECUTION_FAILED;  // its kernel launch failed
        case emu::Issue::Capture:
            emu::record(h->stream, fn, [g](cudaStream_t) { run_gemm(g); });
            return CUBLAS_STATUS_SUCCESS;
        case emu::Issue::Run: break;
    }
    run_gemm(g);
    return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
    if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
    if (emu::device_count() == 0) return CUBLAS_STATUS_NOT_INITIALIZED;
    *handle = new cublasContext{emu::current_device(), nullptr, CUBLAS_DEFAULT_MATH};
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->stream = stream;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream(cublasHandle_t handle, cudaStream_t* stream) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!stream) return CUBLAS_STATUS_INVALID_VALUE;
    *stream = handle->stream;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->mode = mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
    *mode = handle->mode;
    return CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusString(cublasStatus_t status) {
    switch (status) {
        case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
        case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
        case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
        case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
        case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
        case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
        case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
        case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
        case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    }
    return "CUBLAS_STATUS_UNKNOWN";
}

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                           int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                           const float* beta, float* C, int ldc) {
    return gemm("cublasSgemm", handle, transa, transb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,
                                         int m, int n, int k, const float* alpha, const float* A, int lda,
                                         long long int strideA, const float* B, int ldb, long long int strideB,
                                         const float* beta, float* C, int ldc, long long int strideC,
                                         int batchCount) {
    return gemm("cublasSgemmStridedBatched", handle, transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb,
                strideB, beta, C, ldc, strideC, batchCount);
}
