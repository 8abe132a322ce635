// The emulator's semantics, pinned down with small kernels (rewritten and
// built like the library's): barriers with exited threads, warp collectives,
// fresh shared memory per block, atomics, wmma, TF32 rounding, launch errors,
// pointer attributes over two devices, CUB's sort. With --expect-fatal KIND
// it runs one bug the emulator must stop on (CTest checks the message).
#include <cub/device/device_radix_sort.cuh>
#include <cuda_runtime.h>
#include <mma.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
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

__global__ void shared_oob_kernel(float* out) {
    __shared__ float s[32];
    float* volatile p = s;  // opaque pointer: not UBSan's bounds checks but ASan's redzone must catch it
    p[threadIdx.x + 1] = 1.0f;  // thread 31 writes s[32]
    __syncthreads();
    out[threadIdx.x] = s[threadIdx.x];
}

int run_bug(const std::string& kind) {
    float* f = dev_alloc<float>(64);
    int* i = dev_alloc<int>(64);
    if (kind == "divergent_barrier") divergent_barrier_kernel<<<1, 32>>>();
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
                                 "misaligned_wmma", "shared_oob"};
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
    for (void* p : g_allocations) cudaFree(p);
    std::printf("%d failed\n", g_failures);
    return g_failures == 0 ? 0 : 1;
}
