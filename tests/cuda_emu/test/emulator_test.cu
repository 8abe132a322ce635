// The emulator's semantics, pinned down with small kernels (rewritten and
// built like the library's): barriers with exited threads, warp collectives,
// fresh shared memory per block, atomics, wmma, TF32 rounding, launch errors,
// pointer attributes over two devices, CUB's sort, stream capture and graph
// replay. With --expect-fatal KIND it runs one bug the emulator must stop on
// (CTest checks the message).
#include <cub/device/device_radix_sort.cuh>
#include <cuda_runtime.h>
#include <mma.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

int g_failures = 0;
std::vector<void*> g_allocations;  // freed at exit (LeakSanitizer runs on these tests)

void expect(bool ok, const std::string& what) {
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", what.c_str());
    if (!ok) ++g_failures;
}

template <class T>
T* dev_alloc(size_t n) {
    void* p = nullptr;
    cudaMalloc(&p, n * sizeof(T));
    g_allocations.push_back(p);
    return static_cast<T*>(p);
}

template <class T>
std::vector<T> download(const T* d, size_t n) {
    std::vector<T> h(n);
    cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost);
    return h;
}

// Tree sum over a 3-D block (8 x 4 x 2 threads).
__global__ void block_sum_kernel(const int* in, int* out) {
    __shared__ int buf[64];
    const int t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    buf[t] = in[blockIdx.x * 64 + t];
    __syncthreads();
    for (int s = 32; s > 0; s /= 2) {
        if (t < s) buf[t] += buf[t + s];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = buf[0];
}

// Per thread: xor-tree sum, broadcast of lane 5, shfl_down by 1, ballot of lane % 3 == 0.
__global__ void warp_kernel(int* out) {
    const int v = static_cast<int>(threadIdx.x);
    int sum = v;
    for (int off = 16; off > 0; off >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, off);
    const int t = threadIdx.x;
    out[4 * t + 0] = sum;
    out[4 * t + 1] = __shfl_sync(0xffffffffu, v, 5);
    out[4 * t + 2] = __shfl_down_sync(0xffffffffu, v, 1);
    out[4 * t + 3] = static_cast<int>(__ballot_sync(0xffffffffu, (threadIdx.x & 31) % 3 == 0));
}

// Threads >= 40 return at once: the barrier and the warp-1 shuffle wait only for live threads.
__global__ void early_exit_kernel(int* out) {
    __shared__ int buf[64];
    const int t = threadIdx.x;
    if (t >= 40) return;
    buf[t] = t * 10;
    __syncthreads();
    const int neighbour = buf[(t + 1) % 40];
    out[t] = neighbour + __shfl_sync(0xffffffffu, t, 0) * 1000;
}

// Block 0 writes shared memory; block 1 must not see it (it starts as 0xFF bytes: NaN).
__global__ void fresh_shared_kernel(float* out) {
    __shared__ float s[32];
    if (blockIdx.x == 0) s[threadIdx.x] = 1.0f;
    __syncthreads();
    out[blockIdx.x * 32 + threadIdx.x] = s[threadIdx.x];
}

// Reads a neighbour's shared write with (sync = 1) or without a barrier.
__global__ void neighbour_kernel(int sync, float* out) {
    __shared__ float s[256];
    s[threadIdx.x] = float(threadIdx.x);
    if (sync) __syncthreads();
    out[threadIdx.x] = s[(threadIdx.x + 1) % 256];
}

__global__ void atomics_kernel(int n, int* sum, unsigned long long* first) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    atomicAdd(sum, i);
    if (i % 7 == 3) atomicMin(first, static_cast<unsigned long long>(i));
}

// A thread changing its parameter copy does not change another thread's.
template <int Scale>
__global__ void params_kernel(int n, int* out) {
    n += static_cast<int>(threadIdx.x);
    out[blockIdx.y * blockDim.x + threadIdx.x] = n * Scale;
}

// One warp: D = A B + C with A 16x8 (column-major in memory), B 8x16 (row-major), TF32 inputs.
__global__ void wmma_kernel(const float* a, const float* b, float* d, int* counts) {
    using namespace nvcuda;
    __shared__ __align__(32) float as[8 * 16];
    __shared__ __align__(32) float bs[8 * 16];
    __shared__ __align__(32) float ds[16 * 16];
    for (int i = threadIdx.x; i < 128; i += 32) as[i] = a[i], bs[i] = b[i];
    __syncwarp();
    wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::col_major> af;
    wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> bf;
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> cf;
    wmma::fill_fragment(cf, 0.5f);
    wmma::load_matrix_sync(af, as, 16);
    wmma::load_matrix_sync(bf, bs, 16);
    for (int t = 0; t < af.num_elements; ++t) af.x[t] = wmma::__float_to_tf32(af.x[t]);
    for (int t = 0; t < bf.num_elements; ++t) bf.x[t] = wmma::__float_to_tf32(bf.x[t]);
    wmma::mma_sync(cf, af, bf, cf);
    wmma::store_matrix_sync(ds, cf, 16, wmma::mem_row_major);
    __syncwarp();
    for (int i = threadIdx.x; i < 256; i += 32) d[i] = ds[i];
    if (threadIdx.x == 0) counts[0] = af.num_elements, counts[1] = bf.num_elements, counts[2] = cf.num_elements;
}

// y = a x + y, grid-stride.
__global__ void axpy_kernel(int n, float a, const float* x, float* y) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) y[i] = a * x[i] + y[i];
}

// out[b] = sum of the block's 32 values of in, plus `bias` (shared memory and a barrier).
__global__ void sum32_kernel(const float* in, float bias, float* out) {
    __shared__ float buf[32];
    buf[threadIdx.x] = in[blockIdx.x * 32 + threadIdx.x];
    __syncthreads();
    if (threadIdx.x == 0) {
        float s = bias;
        for (int i = 0; i < 32; ++i) s += buf[i];
        out[blockIdx.x] = s;
    }
}

// --- bugs the emulator must stop on -------------------------------------------------

__global__ void divergent_barrier_kernel() {
    if (threadIdx.x < 16) {
        __syncthreads();
    } else {
        __syncthreads();
    }
}

__global__ void deadlock_kernel(int* out) {
    if (threadIdx.x == 0) {
        __syncthreads();
    } else {
        out[threadIdx.x] = __shfl_sync(0xffffffffu, 1, 0);
    }
}

__global__ void write_kernel(float* out) { out[threadIdx.x] = 1.0f; }

__global__ void partial_warp_mma_kernel(float* out) {
    using namespace nvcuda;
    wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> af;
    wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> bf;
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> cf;
    wmma::fill_fragment(af, 1.0f);
    wmma::fill_fragment(bf, 1.0f);
    wmma::fill_fragment(cf, 0.0f);
    if (threadIdx.x < 16) wmma::mma_sync(cf, af, bf, cf);
    out[threadIdx.x] = cf.x[0];
}

__global__ void misaligned_wmma_kernel(float* out) {
    using namespace nvcuda;
    __shared__ __align__(32) float s[16 * 16 + 1];
    for (int i = threadIdx.x; i < 16 * 16 + 1; i += 32) s[i] = 0.0f;
    __syncwarp();
    wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> af;
    wmma::load_matrix_sync(af, s + 1, 16);
    out[threadIdx.x] = af.x[0];
}

// The dynamic buffer's base is 128-byte aligned (as a GPU block's shared window is), so a
// wmma tile read from an offset of 8 floats is legal; out[lane] = the sum of that lane's elements.
__global__ void dynamic_shared_wmma_kernel(float* out, unsigned* misalignment) {
    using namespace nvcuda;
    extern __shared__ __align__(128) float dyn[];
    for (int i = threadIdx.x; i < 8 + 16 * 8; i += 32) dyn[i] = float(i);
    __syncwarp();
    if (threadIdx.x == 0) *misalignment = unsigned(reinterpret_cast<uintptr_t>(dyn) % 128);
    wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> af;
    wmma::load_matrix_sync(af, dyn + 8, 8);
    float sum = 0.0f;
    for (int t = 0; t < af.num_elements; ++t) sum += af.x[t];
    out[threadIdx.x] = sum;
}

__global__ void shared_oob_kernel(float* out) {
    __shared__ float s[32];
    float* volatile p = s;  // opaque pointer: not UBSan's bounds checks but ASan's redzone must catch it
    p[threadIdx.x + 1] = 1.0f;  // thread 31 writes s[32]
    __syncthreads();
    out[threadIdx.x] = s[threadIdx.x];
}

// A graph of one write_kernel launch into `out` on a non-blocking stream.
cudaGraphExec_t write_graph(float* out) {
    cudaStream_t s = nullptr;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal);
    write_kernel<<<1, 32, 0, s>>>(out);
    cudaStreamEndCapture(s, &graph);
    cudaGraphInstantiateWithFlags(&exec, graph, 0);
    cudaGraphDestroy(graph);
    cudaStreamDestroy(s);
    return exec;
}

// Stream capture and graph replay (see src/runtime.cpp).
bool all_nan(const std::vector<float>& v) {
    for (float x : v)
        if (!std::isnan(x)) return false;
    return true;
}

void graph_tests() {
    constexpr int n = 64;
    float* dx = dev_alloc<float>(n);
    float* dy = dev_alloc<float>(n);
    float* dsum = dev_alloc<float>(2);
    float* dother = dev_alloc<float>(n);
    std::vector<float> hx(n, 0.0f), hsum(2, -1.0f);
    cudaStream_t s = nullptr, s2 = nullptr, blocking = nullptr;
    expect(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking) == cudaSuccess &&
               cudaStreamCreateWithFlags(&s2, cudaStreamNonBlocking) == cudaSuccess &&
               cudaStreamCreate(&blocking) == cudaSuccess && cudaStreamCreateWithFlags(&s2, 2) == cudaErrorInvalidValue,
           "cudaStreamCreateWithFlags: default, non-blocking; unknown flags rejected");
    cudaGetLastError();
    cudaStreamCaptureStatus st = cudaStreamCaptureStatusActive, st_null = cudaStreamCaptureStatusActive;
    expect(cudaStreamIsCapturing(nullptr, &st_null) == cudaSuccess && st_null == cudaStreamCaptureStatusNone &&
               cudaStreamIsCapturing(s, &st) == cudaSuccess && st == cudaStreamCaptureStatusNone,
           "nothing captures: cudaStreamIsCapturing says None for NULL and a stream");
    expect(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeGlobal) == cudaErrorStreamCaptureUnsupported &&
               cudaGetLastError() == cudaErrorStreamCaptureUnsupported,
           "the legacy NULL stream cannot capture: cudaErrorStreamCaptureUnsupported");

    // Captured: x <- hx (host to device), y <- 0, y += a x (a = 2 at the
    // capture), y += x (2 blocks), two block sums of y plus 0.5 (shared memory,
    // barrier), the sums copied to hsum (device to host).
    float a = 2.0f;
    cudaError_t err[7];
    err[0] = cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal);
    err[1] = cudaMemcpyAsync(dx, hx.data(), n * sizeof(float), cudaMemcpyHostToDevice, s);
    err[2] = cudaMemsetAsync(dy, 0, n * sizeof(float), s);
    axpy_kernel<<<1, 32, 0, s>>>(n, a, dx, dy);
    axpy_kernel<<<2, 16, 0, s>>>(n, 1.0f, dx, dy);
    sum32_kernel<<<2, 32, 0, s>>>(dy, 0.5f, dsum);
    err[3] = cudaMemcpyAsync(hsum.data(), dsum, 2 * sizeof(float), cudaMemcpyDeviceToHost, s);
    a = 100.0f;  // the graph keeps a = 2
    err[4] = cudaStreamIsCapturing(s, &st);
    err[5] = cudaStreamIsCapturing(nullptr, &st_null);
    // The legacy stream and other streams run at once (a non-blocking stream captures).
    err[6] = cudaMemsetAsync(dother, 0, n * sizeof(float), nullptr);
    write_kernel<<<1, 32>>>(dother);
    const auto other = download(dother, n);  // cudaMemcpy: legacy stream, not synced with s
    bool other_ok = true;
    for (int k = 0; k < n; ++k) other_ok = other_ok && other[size_t(k)] == (k < 32 ? 1.0f : 0.0f);
    bool errs_ok = cudaGetLastError() == cudaSuccess;
    for (cudaError_t e : err) errs_ok = errs_ok && e == cudaSuccess;
    expect(errs_ok && st == cudaStreamCaptureStatusActive && st_null == cudaStreamCaptureStatusNone,
           "capture on a non-blocking stream: copies, memset, 3 launches recorded; IsCapturing Active (NULL: None)");
    expect(other_ok, "while a non-blocking stream captures, legacy-stream work and cudaMemcpy run at once");
    expect(all_nan(download(dx, n)) && all_nan(download(dy, n)) && hsum[0] == -1.0f && hsum[1] == -1.0f,
           "nothing captured ran during the capture");
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    const cudaError_t end = cudaStreamEndCapture(s, &graph);
    cudaStreamIsCapturing(s, &st);
    const cudaError_t inst = cudaGraphInstantiateWithFlags(&exec, graph, 0);
    expect(end == cudaSuccess && graph != nullptr && st == cudaStreamCaptureStatusNone && inst == cudaSuccess &&
               exec != nullptr && all_nan(download(dy, n)),
           "cudaStreamEndCapture gives a graph, the stream stops capturing; instantiation runs nothing");

    // Three launches with new host input each time: on the capture stream, a
    // blocking stream and the legacy stream (with device 1 current: the graph runs on device 0).
    bool replay_ok = true;
    for (int round = 0; round < 3; ++round) {
        for (int k = 0; k < n; ++k) hx[size_t(k)] = float(round == 0 ? k : round == 1 ? 2 * k - 40 : (k * 7) % 13);
        cudaError_t launched;
        if (round == 0) launched = cudaGraphLaunch(exec, s);
        else if (round == 1) launched = cudaGraphLaunch(exec, blocking);
        else {
            cudaSetDevice(1);
            launched = cudaGraphLaunch(exec, s);
            int current = -1;
            cudaGetDevice(&current);
            replay_ok = replay_ok && current == 1;
            cudaSetDevice(0);
        }
        const auto y = download(dy, n);
        for (int b = 0; b < 2; ++b) {
            float sum = 0.5f;
            for (int k = 0; k < 32; ++k) {
                const float want = 3.0f * hx[size_t(b * 32 + k)];
                replay_ok = replay_ok && y[size_t(b * 32 + k)] == want;
                sum += want;
            }
            replay_ok = replay_ok && hsum[size_t(b)] == sum;
        }
        replay_ok = replay_ok && launched == cudaSuccess;
    }
    expect(replay_ok, "graph launches replay in order, reading memory (host input too) at launch time; the scalar "
                      "stays as captured; on any stream of the device");

    // A graph launched into a capturing stream is recorded as one operation (a child graph).
    cudaGraph_t outer = nullptr;
    cudaGraphExec_t outer_exec = nullptr;
    cudaStreamBeginCapture(s2, cudaStreamCaptureModeThreadLocal);
    const cudaError_t child = cudaGraphLaunch(exec, s2);
    axpy_kernel<<<1, 32, 0, s2>>>(n, 1.0f, dx, dy);  // y = 4x after the child's y = 3x
    const bool child_idle = hsum[0] == 0.5f + 3.0f * [&] {
        float t = 0.0f;
        for (int k = 0; k < 32; ++k) t += hx[size_t(k)];
        return t;
    }();
    cudaStreamEndCapture(s2, &outer);
    cudaGraphInstantiateWithFlags(&outer_exec, outer, cudaGraphInstantiateFlagAutoFreeOnLaunch);
    cudaGraphDestroy(outer);
    for (int k = 0; k < n; ++k) hx[size_t(k)] = float(k % 5);
    cudaGraphLaunch(outer_exec, s);
    {
        const auto y = download(dy, n);
        bool ok = child == cudaSuccess && child_idle;
        float sum0 = 0.5f;
        for (int k = 0; k < n; ++k) ok = ok && y[size_t(k)] == 4.0f * hx[size_t(k)];
        for (int k = 0; k < 32; ++k) sum0 += 3.0f * hx[size_t(k)];
        expect(ok && hsum[0] == sum0, "cudaGraphLaunch into a capturing stream records the graph as a child");
    }

    // Device of the launch stream must be the graph's.
    {
        cudaSetDevice(1);
        cudaStream_t s1 = nullptr;
        cudaStreamCreate(&s1);
        cudaSetDevice(0);
        expect(cudaGraphLaunch(exec, s1) == cudaErrorInvalidValue && cudaGetLastError() == cudaErrorInvalidValue,
               "cudaGraphLaunch into a stream of another device: cudaErrorInvalidValue");
        cudaStreamDestroy(s1);
    }
    cudaGraphExecDestroy(outer_exec);
    expect(cudaGraphExecDestroy(exec) == cudaSuccess && cudaGraphDestroy(graph) == cudaSuccess,
           "cudaGraphExecDestroy, cudaGraphDestroy");

    // Errors during a capture invalidate it: later work on the stream is refused
    // and cudaStreamEndCapture gives no graph.
    const auto invalidated_by = [&](const char* what, cudaError_t want, auto&& bad) {
        cudaGetLastError();
        cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal);
        const cudaError_t got = bad();
        cudaStreamCaptureStatus mid = cudaStreamCaptureStatusNone;
        cudaStreamIsCapturing(s, &mid);
        const cudaError_t later = cudaMemsetAsync(dother, 0, sizeof(float), s);
        cudaGraph_t g = graph;  // any non-NULL value
        const cudaError_t ended = cudaStreamEndCapture(s, &g);
        cudaGetLastError();
        expect(got == want && mid == cudaStreamCaptureStatusInvalidated &&
                   later == cudaErrorStreamCaptureInvalidated && ended == cudaErrorStreamCaptureInvalidated &&
                   g == nullptr,
               std::string(what) + ": " + cudaGetErrorName(want) + ", capture invalidated, no graph");
    };
    invalidated_by("launch of 2048 threads into a capturing stream", cudaErrorInvalidConfiguration, [&] {
        write_kernel<<<1, 2048, 0, s>>>(dother);
        return cudaGetLastError();
    });
    invalidated_by("cudaMemcpyAsync of a host range as device-to-device", cudaErrorInvalidValue,
                   [&] { return cudaMemcpyAsync(dother, hx.data(), 4, cudaMemcpyDeviceToDevice, s); });
    invalidated_by("cudaMemsetAsync past the allocation", cudaErrorInvalidValue,
                   [&] { return cudaMemsetAsync(dother, 0, (n + 1) * sizeof(float), s); });
    invalidated_by("cudaStreamSynchronize of the capturing stream", cudaErrorStreamCaptureUnsupported,
                   [&] { return cudaStreamSynchronize(s); });
    invalidated_by("cudaDeviceSynchronize", cudaErrorStreamCaptureUnsupported, [&] { return cudaDeviceSynchronize(); });
    invalidated_by("cudaMalloc (global mode)", cudaErrorStreamCaptureUnsupported, [&] {
        void* p = &hx;
        const cudaError_t e = cudaMalloc(&p, 16);
        return p == nullptr ? e : cudaErrorNotSupported;
    });
    invalidated_by("cudaFree (global mode)", cudaErrorStreamCaptureUnsupported, [&] { return cudaFree(dother); });
    invalidated_by("cudaMalloc on another thread (global mode)", cudaErrorStreamCaptureUnsupported, [&] {
        cudaError_t e = cudaSuccess;
        std::thread t([&] {
            void* p = nullptr;
            e = cudaMalloc(&p, 16);
        });
        t.join();
        return e;
    });
    invalidated_by("cudaStreamDestroy of the capturing stream (the stream is kept)",
                   cudaErrorStreamCaptureUnsupported, [&] { return cudaStreamDestroy(s); });

    // Relaxed mode allows cudaMalloc / cudaFree; thread-local mode allows them on other threads.
    {
        cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed);
        void* p = nullptr;
        const cudaError_t m = cudaMalloc(&p, 16), f = cudaFree(p);
        cudaGraph_t g = nullptr;
        const cudaError_t e = cudaStreamEndCapture(s, &g);
        cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal);
        cudaError_t other_m = cudaErrorNotSupported, other_f = cudaErrorNotSupported;
        std::thread t([&] {
            void* q = nullptr;
            other_m = cudaMalloc(&q, 16);
            other_f = cudaFree(q);
        });
        t.join();
        cudaGraph_t g2 = nullptr;
        const cudaError_t e2 = cudaStreamEndCapture(s, &g2);
        expect(m == cudaSuccess && f == cudaSuccess && e == cudaSuccess && g != nullptr && other_m == cudaSuccess &&
                   other_f == cudaSuccess && e2 == cudaSuccess && g2 != nullptr,
               "cudaMalloc / cudaFree: allowed in a relaxed capture, and on other threads of a thread-local one");
        cudaGraphDestroy(g);
        cudaGraphDestroy(g2);
    }

    // A blocking stream's capture: legacy-stream work would depend on it.
    {
        float one = 1.0f;
        cudaMemcpy(dother, &one, sizeof one, cudaMemcpyHostToDevice);
        cudaStreamBeginCapture(blocking, cudaStreamCaptureModeGlobal);
        const cudaError_t query = cudaStreamIsCapturing(nullptr, &st_null);
        cudaStreamIsCapturing(blocking, &st);
        const bool still_active = st == cudaStreamCaptureStatusActive;
        const cudaError_t memset_null = cudaMemsetAsync(dother, 0, sizeof(float), nullptr);
        const cudaError_t copy = cudaMemcpy(dother, &hx[0], sizeof(float), cudaMemcpyHostToDevice);
        cudaStreamIsCapturing(blocking, &st);
        cudaGraph_t g = nullptr;
        const cudaError_t ended = cudaStreamEndCapture(blocking, &g);
        cudaGetLastError();
        expect(query == cudaErrorStreamCaptureImplicit && still_active &&
                   memset_null == cudaErrorStreamCaptureImplicit && copy == cudaErrorStreamCaptureImplicit &&
                   st == cudaStreamCaptureStatusInvalidated && ended == cudaErrorStreamCaptureInvalidated &&
                   g == nullptr && download(dother, 1)[0] == 1.0f,
               "blocking stream capturing: IsCapturing(NULL) is cudaErrorStreamCaptureImplicit (capture kept); "
               "legacy-stream work is refused with it, not run, and invalidates the capture");
    }

    // Begin twice, end without a capture, end on another thread.
    {
        cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal);
        const cudaError_t twice = cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal);
        cudaGraph_t g = nullptr;
        cudaError_t other_end = cudaSuccess;
        std::thread t([&] { other_end = cudaStreamEndCapture(s, &g); });
        t.join();
        cudaStreamIsCapturing(s, &st);
        const bool kept = st == cudaStreamCaptureStatusActive;
        const cudaError_t ended = cudaStreamEndCapture(s, &g);
        const cudaError_t again = cudaStreamEndCapture(s, &g);
        cudaGetLastError();
        cudaGraphExec_t e = nullptr;
        const cudaError_t inst_empty = cudaGraphInstantiateWithFlags(&e, g, 0);
        const cudaError_t run_empty = cudaGraphLaunch(e, s);
        cudaGraphExecDestroy(e);
        cudaGraphDestroy(g);
        expect(twice == cudaErrorIllegalState && other_end == cudaErrorStreamCaptureWrongThread && kept &&
                   ended == cudaSuccess && again == cudaErrorIllegalState && inst_empty == cudaSuccess &&
                   run_empty == cudaSuccess,
               "BeginCapture twice / EndCapture without a capture: cudaErrorIllegalState; EndCapture on another "
               "thread: cudaErrorStreamCaptureWrongThread (the capture goes on); an empty graph runs");
    }

    // CUB's sort on a capturing stream: recorded, run with the keys at launch time.
    {
        auto* k_in = dev_alloc<unsigned long long>(4);
        auto* k_out = dev_alloc<unsigned long long>(4);
        auto* v_in = dev_alloc<long long>(4);
        auto* v_out = dev_alloc<long long>(4);
        const long long vals[] = {0, 1, 2, 3};
        cudaMemcpy(v_in, vals, sizeof vals, cudaMemcpyHostToDevice);
        size_t bytes = 0;
        cub::DeviceRadixSort::SortPairs(nullptr, bytes, k_in, k_out, v_in, v_out, 4);
        void* temp = dev_alloc<char>(bytes);
        cudaGraph_t g = nullptr;
        cudaGraphExec_t e = nullptr;
        cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal);
        const cudaError_t sorted = cub::DeviceRadixSort::SortPairs(temp, bytes, k_in, k_out, v_in, v_out, 4, 0, 64, s);
        cudaStreamEndCapture(s, &g);
        cudaGraphInstantiateWithFlags(&e, g, 0);
        const unsigned long long keys[] = {9, 2, 7, 2};
        cudaMemcpy(k_in, keys, sizeof keys, cudaMemcpyHostToDevice);
        cudaGraphLaunch(e, s);
        cudaGraphExecDestroy(e);
        cudaGraphDestroy(g);
        expect(sorted == cudaSuccess && download(k_out, 4) == std::vector<unsigned long long>{2, 2, 7, 9} &&
                   download(v_out, 4) == std::vector<long long>{1, 3, 2, 0},
               "cub SortPairs captured: sorts the keys present at graph launch");
    }

    expect(std::strcmp(cudaGetErrorName(cudaErrorStreamCaptureImplicit), "cudaErrorStreamCaptureImplicit") == 0 &&
               std::strcmp(cudaGetErrorName(cudaErrorStreamCaptureUnmatched), "cudaErrorStreamCaptureUnmatched") == 0 &&
               std::strcmp(cudaGetErrorString(cudaErrorStreamCaptureInvalidated), "unknown error") != 0 &&
               cudaErrorStreamCaptureWrongThread == 908 && cudaErrorIllegalState == 401,
           "capture error codes: real values, names and strings");
    cudaStreamDestroy(s);
    cudaStreamDestroy(s2);
    cudaStreamDestroy(blocking);
}

int run_bug(const std::string& kind) {
    float* f = dev_alloc<float>(64);
    int* i = dev_alloc<int>(64);
    if (kind == "graph_exec_destroyed") {
        cudaGraphExec_t exec = write_graph(f);
        cudaGraphExecDestroy(exec);
        cudaGraphLaunch(exec, nullptr);
    } else if (kind == "graph_replay_freed_memory") {
        void* p = nullptr;
        cudaMalloc(&p, 32 * sizeof(float));
        cudaGraphExec_t exec = write_graph(static_cast<float*>(p));
        cudaGraphLaunch(exec, nullptr);  // fine
        cudaFree(p);
        cudaGraphLaunch(exec, nullptr);  // the kernel's argument is freed memory now
    } else if (kind == "divergent_barrier") divergent_barrier_kernel<<<1, 32>>>();
    else if (kind == "deadlock") deadlock_kernel<<<1, 32>>>(i);
    else if (kind == "host_pointer_argument") {
        std::vector<float> host(32);
        write_kernel<<<1, 32>>>(host.data());
    } else if (kind == "mma_partial_warp") partial_warp_mma_kernel<<<1, 32>>>(f);
    else if (kind == "misaligned_wmma") misaligned_wmma_kernel<<<1, 32>>>(f);
    else if (kind == "shared_oob") shared_oob_kernel<<<1, 32>>>(f);
    std::printf("the emulator ran %s without stopping\n", kind.c_str());
    return 0;
}

// Runs the bug in a child (the emulator aborts it) and passes its stderr on
// to stdout, where CTest looks for the expected message. Exit 0 only if the
// child died (signal or non-zero exit).
int expect_fatal(const std::string& kind) {
    const char* const kinds[] = {"divergent_barrier", "deadlock", "host_pointer_argument", "mma_partial_warp",
                                 "misaligned_wmma", "shared_oob", "graph_exec_destroyed",
                                 "graph_replay_freed_memory"};
    bool known = false;
    for (const char* k : kinds) known = known || kind == k;
    if (!known) {
        std::printf("unknown kind %s\n", kind.c_str());
        return 2;
    }
    int fds[2];
    if (pipe(fds) != 0) return 2;
    std::fflush(stdout);
    const pid_t child = fork();
    if (child == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        std::_Exit(run_bug(kind));
    }
    close(fds[1]);
    char buf[4096];
    ssize_t got;
    while ((got = read(fds[0], buf, sizeof buf)) > 0) std::fwrite(buf, 1, size_t(got), stdout);
    int status = 0;
    waitpid(child, &status, 0);
    const bool died = WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
    std::printf("%s: the child %s\n", kind.c_str(), died ? "was stopped" : "finished normally");
    return died ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 3 && std::strcmp(argv[1], "--expect-fatal") == 0) return expect_fatal(argv[2]);

    {
        std::vector<int> in(3 * 64);
        for (size_t k = 0; k < in.size(); ++k) in[k] = static_cast<int>(k * k % 97);
        int* d_in = dev_alloc<int>(in.size());
        int* d_out = dev_alloc<int>(3);
        cudaMemcpy(d_in, in.data(), in.size() * sizeof(int), cudaMemcpyHostToDevice);
        block_sum_kernel<<<3, dim3(8, 4, 2)>>>(d_in, d_out);
        const auto out = download(d_out, 3);
        bool ok = true;
        for (int b = 0; b < 3; ++b) {
            int want = 0;
            for (int t = 0; t < 64; ++t) want += in[static_cast<size_t>(b * 64 + t)];
            ok = ok && out[static_cast<size_t>(b)] == want;
        }
        expect(ok, "3-D block tree sum with __syncthreads");
    }
    {
        int* d = dev_alloc<int>(4 * 64);
        warp_kernel<<<1, 64>>>(d);
        const auto out = download(d, 4 * 64);
        bool ok = true;
        unsigned ballot = 0;
        for (int l = 0; l < 32; l += 3) ballot |= 1u << l;
        for (int t = 0; t < 64; ++t) {
            const int base = t / 32 * 32, lane = t % 32;
            ok = ok && out[4 * t] == 32 * base + 496 && out[4 * t + 1] == base + 5 &&
                 out[4 * t + 2] == (lane == 31 ? t : t + 1) && unsigned(out[4 * t + 3]) == ballot;
        }
        expect(ok, "warp shuffles (xor, broadcast, down) and ballot, two warps");
    }
    {
        int* d = dev_alloc<int>(40);
        early_exit_kernel<<<1, 64>>>(d);
        const auto out = download(d, 40);
        bool ok = true;
        for (int t = 0; t < 40; ++t) ok = ok && out[static_cast<size_t>(t)] == (t + 1) % 40 * 10 + (t / 32 * 32) * 1000;
        expect(ok, "exited threads leave barriers and warp collectives");
    }
    {
        float* d = dev_alloc<float>(64);
        fresh_shared_kernel<<<2, 32>>>(d);
        const auto out = download(d, 64);
        bool ok = true;
        for (int t = 0; t < 64; ++t) ok = ok && (t < 32 ? out[static_cast<size_t>(t)] == 1.0f : std::isnan(out[static_cast<size_t>(t)]));
        expect(ok, "__shared__ starts as NaN in every block");
    }
    {
        // Several sizes: an allocator's 16-byte alignment would misplace some of them.
        float* d = dev_alloc<float>(32);
        unsigned* mis = dev_alloc<unsigned>(1);
        bool ok = true;
        for (size_t bytes : {size_t(544), size_t(4100), size_t(40000)}) {
            dynamic_shared_wmma_kernel<<<1, 32, bytes>>>(d, mis);
            ok = ok && cudaGetLastError() == cudaSuccess && download(mis, 1)[0] == 0u;
        }
        const auto out = download(d, 32);
        float sum = 0.0f;
        for (float v : out) sum += v;  // the tile holds dyn[8..135] = 8..135
        expect(ok && sum == (8.0f + 135.0f) * 128.0f / 2.0f,
               "dynamic shared memory is 128-byte aligned; a wmma tile loads from it");
    }
    {
        float* d = dev_alloc<float>(256);
        int wrong[2] = {0, 0};
        for (int sync = 0; sync < 2; ++sync) {
            neighbour_kernel<<<1, 256>>>(sync, d);
            const auto out = download(d, 256);
            for (int t = 0; t < 256; ++t) wrong[sync] += out[static_cast<size_t>(t)] != float((t + 1) % 256);
        }
        expect(wrong[1] == 0, "neighbour read after __syncthreads is right");
        expect(wrong[0] > 0, "neighbour read without __syncthreads goes wrong (" + std::to_string(wrong[0]) +
                                 " of 256 threads): shuffled order exposes a missing barrier");
    }
    {
        int* sum = dev_alloc<int>(1);
        unsigned long long* first = dev_alloc<unsigned long long>(1);
        cudaMemset(sum, 0, sizeof(int));
        cudaMemset(first, 0xff, sizeof(unsigned long long));
        atomics_kernel<<<5, 64>>>(300, sum, first);
        expect(download(sum, 1)[0] == 300 * 299 / 2 && download(first, 1)[0] == 3, "atomicAdd / atomicMin across blocks");
    }
    {
        int* d = dev_alloc<int>(2 * 8);
        params_kernel<3><<<dim3(1, 2),
                           8>>>(100, d);
        const auto out = download(d, 16);
        bool ok = true;
        for (int k = 0; k < 16; ++k) ok = ok && out[static_cast<size_t>(k)] == (100 + k % 8) * 3;
        expect(ok, "template kernel, launch over two lines, per-thread parameter copies");
    }
    {
        std::vector<float> a(128), b(128);
        for (int k = 0; k < 128; ++k) a[size_t(k)] = std::sin(0.7f * float(k)) * 1.37f, b[size_t(k)] = std::cos(0.3f * float(k)) + 0.01f * float(k);
        float* da = dev_alloc<float>(128);
        float* db = dev_alloc<float>(128);
        float* dd = dev_alloc<float>(256);
        int* counts = dev_alloc<int>(3);
        cudaMemcpy(da, a.data(), 128 * sizeof(float), cudaMemcpyHostToDevice);
        cudaMemcpy(db, b.data(), 128 * sizeof(float), cudaMemcpyHostToDevice);
        wmma_kernel<<<1, 32>>>(da, db, dd, counts);
        const auto d = download(dd, 256);
        const auto c = download(counts, 3);
        double worst = 0.0;
        for (int r = 0; r < 16; ++r)
            for (int col = 0; col < 16; ++col) {
                double want = 0.5;  // A(r, k) at a[k * 16 + r] (column-major), B(k, c) at b[k * 16 + c]
                for (int k = 0; k < 8; ++k)
                    want += double(emu::round_to_tf32(a[size_t(k * 16 + r)])) * double(emu::round_to_tf32(b[size_t(k * 16 + col)]));
                worst = std::fmax(worst, std::fabs(double(d[size_t(r * 16 + col)]) - want));
            }
        expect(worst < 1e-5 && c[0] == 4 && c[1] == 4 && c[2] == 8,
               "wmma m16n16k8 TF32: D = A B + C (err " + std::to_string(worst) + "), 4/4/8 elements per lane");
    }
    {
        const float p11 = std::ldexp(1.0f, -11), p10 = std::ldexp(1.0f, -10), p12 = std::ldexp(1.0f, -12);
        const bool ok = emu::round_to_tf32(1.0f + p11) == 1.0f + p10 && emu::round_to_tf32(-(1.0f + p11)) == -(1.0f + p10) &&
                        emu::round_to_tf32(1.0f + p12) == 1.0f && emu::round_to_tf32(1.0f + 3 * p12) == 1.0f + p10 &&
                        std::isinf(emu::round_to_tf32(INFINITY)) && std::isnan(emu::round_to_tf32(NAN)) &&
                        emu::round_to_tf32(3.0f) == 3.0f;
        expect(ok, "TF32 rounding: nearest, ties away from zero");
    }
    {
        float* d = dev_alloc<float>(32);
        cudaGetLastError();
        write_kernel<<<1, 2048>>>(d);
        const cudaError_t too_many = cudaGetLastError();
        write_kernel<<<0, 32>>>(d);
        const cudaError_t empty = cudaGetLastError();
        expect(too_many == cudaErrorInvalidConfiguration && empty == cudaErrorInvalidConfiguration &&
                   cudaGetLastError() == cudaSuccess,
               "2048 threads or 0 blocks: cudaErrorInvalidConfiguration, then cleared");
    }
    {
        // Dynamic shared memory past 48 KB needs the opt-in attribute (kept per device here).
        float* d = dev_alloc<float>(32);
        cudaGetLastError();
        write_kernel<<<1, 32, 64 * 1024>>>(d);
        const cudaError_t refused = cudaGetLastError();
        int optin = 0;
        cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0);
        const cudaError_t too_big = cudaFuncSetAttribute(write_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, optin + 1);
        cudaGetLastError();
        const cudaError_t set = cudaFuncSetAttribute(write_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024);
        write_kernel<<<1, 32, 64 * 1024>>>(d);
        const cudaError_t allowed = cudaGetLastError();
        write_kernel<<<1, 32, 64 * 1024 + 4>>>(d);
        const cudaError_t past = cudaGetLastError();
        expect(refused == cudaErrorInvalidValue && optin == 232448 && too_big == cudaErrorInvalidValue &&
                   set == cudaSuccess && allowed == cudaSuccess && past == cudaErrorInvalidValue,
               "dynamic shared memory over 48 KB: refused, then allowed up to the opted-in size");
    }
    {
        int count = 0;
        cudaGetDeviceCount(&count);
        float* on0 = dev_alloc<float>(4);
        cudaSetDevice(1);
        float* on1 = dev_alloc<float>(4);
        int current = -1;
        cudaGetDevice(&current);
        cudaPointerAttributes a0{}, a1{}, ah{};
        float host = 0.0f;
        cudaPointerGetAttributes(&a0, on0 + 3);
        cudaPointerGetAttributes(&a1, on1);
        cudaPointerGetAttributes(&ah, &host);
        const cudaError_t bad = cudaSetDevice(count);
        cudaGetLastError();
        cudaSetDevice(0);
        expect(count == 2 && current == 1 && a0.type == cudaMemoryTypeDevice && a0.device == 0 &&
                   a1.type == cudaMemoryTypeDevice && a1.device == 1 && ah.type == cudaMemoryTypeUnregistered &&
                   bad == cudaErrorInvalidDevice,
               "two devices: allocations remember their device, host memory is unregistered");
    }
    {
        const unsigned long long keys[] = {5, 3, 5, 1, 3, 4};
        const long long vals[] = {0, 1, 2, 3, 4, 5};
        auto* k_in = dev_alloc<unsigned long long>(6);
        auto* k_out = dev_alloc<unsigned long long>(6);
        auto* v_in = dev_alloc<long long>(6);
        auto* v_out = dev_alloc<long long>(6);
        cudaMemcpy(k_in, keys, sizeof keys, cudaMemcpyHostToDevice);
        cudaMemcpy(v_in, vals, sizeof vals, cudaMemcpyHostToDevice);
        size_t bytes = 0;
        cub::DeviceRadixSort::SortPairs(nullptr, bytes, k_in, k_out, v_in, v_out, 6);
        void* temp = dev_alloc<char>(bytes);
        cub::DeviceRadixSort::SortPairs(temp, bytes, k_in, k_out, v_in, v_out, 6, 0, 3);
        const auto ko = download(k_out, 6);
        const auto vo = download(v_out, 6);
        const bool full = ko == std::vector<unsigned long long>{1, 3, 3, 4, 5, 5} &&
                          vo == std::vector<long long>{3, 1, 4, 5, 0, 2};
        cub::DeviceRadixSort::SortPairs(temp, bytes, k_in, k_out, v_in, v_out, 6, 1, 3);  // digits 2,1,2,0,1,2
        const auto vb = download(v_out, 6);
        expect(full && vb == std::vector<long long>{3, 1, 4, 0, 2, 5}, "cub SortPairs: stable, on bits [begin, end)");
    }
    graph_tests();
    for (void* p : g_allocations) cudaFree(p);
    std::printf("%d failed\n", g_failures);
    return g_failures == 0 ? 0 : 1;
}
