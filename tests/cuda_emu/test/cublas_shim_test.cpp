// The emulated cuBLAS against results worked out by hand, so a shim bug
// cannot pass itself off as a kernel bug (or hide one). Column-major
// throughout: element (r, c) of a stored matrix is at p[r + c * ld]. Ends
// with GEMMs captured into a CUDA graph.
#include <cublas_v2.h>

#include <cmath>
#include <cstdio>
#include <vector>

namespace {

int g_failures = 0;

void expect(bool ok, const char* what) {
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) ++g_failures;
}

float* device_copy(const std::vector<float>& host) {
    void* p = nullptr;
    cudaMalloc(&p, host.size() * sizeof(float));
    cudaMemcpy(p, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice);
    return static_cast<float*>(p);
}

std::vector<float> host_copy(const float* dev, size_t n) {
    std::vector<float> h(n);
    cudaMemcpy(h.data(), dev, n * sizeof(float), cudaMemcpyDeviceToHost);
    return h;
}

// Exact match, NaN matching NaN (untouched padding).
bool same(const std::vector<float>& got, const std::vector<float>& want) {
    if (got.size() != want.size()) return false;
    for (size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(want[i]) ? !std::isnan(got[i]) : got[i] != want[i]) {
            std::printf("     [%zu] got %.9g want %.9g\n", i, double(got[i]), double(want[i]));
            return false;
        }
    }
    return true;
}

}  // namespace

int main() {
    cublasHandle_t h = nullptr;
    expect(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS, "cublasCreate");
    const float one = 1.0f, zero = 0.0f, two = 2.0f, half = 0.5f;
    const float nan = std::nanf(""), pad = -7.0f;

    // op N/N with padded leading dimensions. A = [1 2 3; 4 5 6] (lda 3),
    // B = [7 8; 9 10; 11 12] (ldb 4): A B = [58 64; 139 154]. beta = 0: the
    // NaNs in C are not read; C's padding row (ldc 3) is left alone.
    {
        float* a = device_copy({1, 4, pad, 2, 5, pad, 3, 6, pad});
        float* b = device_copy({7, 9, 11, pad, 8, 10, 12, pad});
        float* c = device_copy({nan, nan, pad, nan, nan, pad});
        expect(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 3, &one, a, 3, b, 4, &zero, c, 3) ==
                   CUBLAS_STATUS_SUCCESS,
               "Sgemm N,N status");
        expect(same(host_copy(c, 6), {58, 139, pad, 64, 154, pad}), "Sgemm N,N: A B, beta 0 ignores NaN in C");
        cudaFree(a), cudaFree(b), cudaFree(c);
    }
    // op T/T with alpha 2, beta 0.5: stored A is 3x2 [1 4; 2 5; 3 6], stored
    // B is 2x3 [7 9 11; 8 10 12], so op(A) op(B) is the product above;
    // C = [1 2; 3 4] -> 2 [58 64; 139 154] + 0.5 C = [116.5 129; 279.5 310].
    {
        float* a = device_copy({1, 2, 3, 4, 5, 6});
        float* b = device_copy({7, 8, 9, 10, 11, 12});
        float* c = device_copy({1, 3, 2, 4});
        cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_T, 2, 2, 3, &two, a, 3, b, 2, &half, c, 2);
        expect(same(host_copy(c, 4), {116.5f, 279.5f, 129, 310}), "Sgemm T,T: alpha, beta");
        cudaFree(a), cudaFree(b), cudaFree(c);
    }
    // DynRec's row-major call (cuda::sgemm, trans_b): row-major Y = X W^T with
    // X = [1 2 3; 4 5 6], W = [1 0 -1; 2 1 0] is column-major
    // Y^T = op_T(W) op_N(X): cublasSgemm(T, N, n_out, batch, k, W, k, X, k, Y, n_out).
    // Y = [-2 4; -2 13] row-major.
    {
        float* x = device_copy({1, 2, 3, 4, 5, 6});
        float* w = device_copy({1, 0, -1, 2, 1, 0});
        float* y = device_copy({nan, nan, nan, nan});
        cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, 2, 2, 3, &one, w, 3, x, 3, &zero, y, 2);
        expect(same(host_copy(y, 4), {-2, 4, -2, 13}), "row-major X W^T through the operand swap");
        cudaFree(x), cudaFree(w), cudaFree(y);
    }
    // Strided batched, A shared (stride 0): A = [1 2; 3 4], B_0 = [1; 1],
    // B_1 = [2; -1]: C_0 = [3; 7], C_1 = [0; 2].
    {
        float* a = device_copy({1, 3, 2, 4});
        float* b = device_copy({1, 1, 2, -1});
        float* c = device_copy({nan, nan, nan, nan});
        expect(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, 2, 1, 2, &one, a, 2, 0, b, 2, 2, &zero, c, 2, 2,
                                         2) == CUBLAS_STATUS_SUCCESS,
               "SgemmStridedBatched status");
        expect(same(host_copy(c, 4), {3, 7, 0, 2}), "SgemmStridedBatched: stride 0 shares A");
        cudaFree(a), cudaFree(b), cudaFree(c);
    }
    // k = 0: C = beta C (alpha and A, B unused); beta 0 clears NaN.
    {
        float* c = device_copy({nan});
        cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 0, &one, nullptr, 1, nullptr, 1, &zero, c, 1);
        expect(same(host_copy(c, 1), {0}), "k = 0, beta 0: C = 0");
        cudaFree(c);
    }
    // TF32 math: 1 + 2^-11 is a tie between two TF32 values; round to nearest,
    // ties away from zero, gives 1 + 2^-10 (exact FP32 math keeps 1 + 2^-11).
    {
        const float tie = 1.0f + std::ldexp(1.0f, -11);
        float* a = device_copy({tie});
        float* b = device_copy({1});
        float* c = device_copy({nan});
        cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, a, 1, b, 1, &zero, c, 1);
        expect(same(host_copy(c, 1), {tie}), "default math: exact FP32");
        cublasMath_t mode = CUBLAS_DEFAULT_MATH;
        cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH);
        cublasGetMathMode(h, &mode);
        expect(mode == CUBLAS_TF32_TENSOR_OP_MATH, "math mode round-trips");
        cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, a, 1, b, 1, &zero, c, 1);
        expect(same(host_copy(c, 1), {1.0f + std::ldexp(1.0f, -10)}), "TF32 math rounds A and B");
        cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
        cudaFree(a), cudaFree(b), cudaFree(c);
    }
    // cuBLAS's argument checks.
    expect(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 3, 1, 1, &one, nullptr, 2, nullptr, 1, &zero, nullptr, 3) ==
               CUBLAS_STATUS_INVALID_VALUE,
           "lda below m: INVALID_VALUE");
    expect(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, 3, 1, 4, &one, nullptr, 3, nullptr, 4, &zero, nullptr, 2) ==
               CUBLAS_STATUS_INVALID_VALUE,
           "ldc below m: INVALID_VALUE");
    expect(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, -1, 1, 1, &one, nullptr, 1, nullptr, 1, &zero, nullptr, 1) ==
               CUBLAS_STATUS_INVALID_VALUE,
           "negative m: INVALID_VALUE");
    expect(cublasSgemm(nullptr, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, nullptr, 1, nullptr, 1, &zero, nullptr, 1) ==
               CUBLAS_STATUS_NOT_INITIALIZED,
           "NULL handle: NOT_INITIALIZED");
    expect(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS, "cublasDestroy");
    // Stream capture: a GEMM on a capturing stream is recorded with alpha,
    // beta, the math mode and the pointers as they are at the call, and reads
    // and writes the operands at every graph launch. The handle may be gone by then.
    {
        cudaStream_t s = nullptr, blocking = nullptr;
        cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
        cudaStreamCreate(&blocking);
        cublasHandle_t hc = nullptr;
        cublasCreate(&hc);
        cublasSetStream(hc, s);
        // A = [1 2; 3 4], B = [1 0; 0 1] (stored column-major), C = [10 20; 30 40].
        std::vector<float> a_host = {1, 3, 2, 4};
        float* a = device_copy({nan, nan, nan, nan});
        float* b = device_copy({1, 0, 0, 1});
        float* c = device_copy({10, 30, 20, 40});
        float* t = device_copy({nan});
        const float tie = 1.0f + std::ldexp(1.0f, -11);
        float* ta = device_copy({tie});
        float alpha = 2.0f, beta = 1.0f;
        cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal);
        const cudaError_t copy = cudaMemcpyAsync(a, a_host.data(), 4 * sizeof(float), cudaMemcpyHostToDevice, s);
        // C = alpha A B + beta C with alpha 2, beta 1 (changed below: the graph keeps 2 and 1).
        const cublasStatus_t st1 = cublasSgemm(hc, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &alpha, a, 2, b, 2, &beta, c, 2);
        cublasSetMathMode(hc, CUBLAS_TF32_TENSOR_OP_MATH);  // the second GEMM is a TF32 one
        const cublasStatus_t st2 = cublasSgemm(hc, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &one, ta, 1, b, 1, &zero, t, 1);
        cublasSetMathMode(hc, CUBLAS_DEFAULT_MATH);
        alpha = 100.0f, beta = 0.0f;
        const bool idle = same(host_copy(a, 4), {nan, nan, nan, nan}) && same(host_copy(c, 4), {10, 30, 20, 40}) &&
                          same(host_copy(t, 1), {nan});
        cudaGraph_t graph = nullptr;
        cudaGraphExec_t exec = nullptr;
        const cudaError_t ended = cudaStreamEndCapture(s, &graph);
        cudaGraphInstantiateWithFlags(&exec, graph, 0);
        cudaGraphDestroy(graph);
        cublasDestroy(hc);
        expect(copy == cudaSuccess && st1 == CUBLAS_STATUS_SUCCESS && st2 == CUBLAS_STATUS_SUCCESS && idle &&
                   ended == cudaSuccess && same(host_copy(c, 4), {10, 30, 20, 40}),
               "captured Sgemm: recorded, nothing computed during the capture or at instantiation");
        // Launch 1: C = 2 A I + C. Then A's host source and B change; launch 2
        // (on another stream): C = 2 A' B' + C (beta 1 reads the C of launch 1).
        cudaGraphLaunch(exec, s);
        const bool first = same(host_copy(c, 4), {12, 36, 24, 48}) && same(host_copy(t, 1), {1.0f + std::ldexp(1.0f, -10)});
        a_host = {1, 1, 1, 1};
        const float b2[] = {0, 1, 1, 0};  // swaps columns
        cudaMemcpy(b, b2, sizeof b2, cudaMemcpyHostToDevice);
        cudaGraphLaunch(exec, blocking);
        expect(first, "graph launch 1: C = 2 A B + C with alpha, beta and TF32 math as at capture");
        expect(same(host_copy(c, 4), {14, 38, 26, 50}) && same(host_copy(t, 1), {0}),
               "graph launch 2 reads A, B and C as they are then (new host data, new B, C of launch 1)");
        cudaGraphExecDestroy(exec);

        // A cuBLAS call on the legacy stream while a blocking stream captures
        // would depend on it: refused (its kernel launch fails), capture invalidated.
        cublasHandle_t hl = nullptr;
        cublasCreate(&hl);
        cudaStreamBeginCapture(blocking, cudaStreamCaptureModeGlobal);
        const cublasStatus_t refused = cublasSgemm(hl, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, a, 2, b, 2, &zero, c, 2);
        const cudaError_t end2 = cudaStreamEndCapture(blocking, &graph);
        cudaGetLastError();
        expect(refused == CUBLAS_STATUS_EXECUTION_FAILED && end2 == cudaErrorStreamCaptureInvalidated &&
                   same(host_copy(c, 4), {14, 38, 26, 50}),
               "Sgemm on the legacy stream while a blocking stream captures: EXECUTION_FAILED, capture invalidated");
        cublasDestroy(hl);
        cudaFree(a), cudaFree(b), cudaFree(c), cudaFree(t), cudaFree(ta);
        cudaStreamDestroy(s);
        cudaStreamDestroy(blocking);
    }
    std::printf("%d failed\n", g_failures);
    return g_failures == 0 ? 0 : 1;
}
