// Multi-tensor Adam / AdamW on CUDA.
// The host cuts every tensor into chunks of kChunk elements and uploads, in
// one async copy, the four pointer arrays plus the chunk table (tensor,
// begin, end) into the workspace. Launches:
//   clipping only: norm_partial_kernel (one block per chunk, fixed-shape
//   shared-memory tree in double) -> norm_final_kernel (one block, fixed
//   strided assignment + tree) writes the norm and the clip factor;
//   update_kernel: one block per chunk (grid-stride over chunks), threads
//   stride over the chunk's elements; it reads the clip factor from device
//   memory, so nothing waits on the host. All reductions have a fixed order:
//   deterministic.
#include <algorithm>
#include <vector>

#include "cuda/common.cuh"
#include "cuda/optimizer.cuh"

namespace dynrec::cuda {

namespace {

constexpr int64_t kChunk = 16384;
constexpr int kThreads = 256;

int64_t align256(int64_t n) { return (n + 255) / 256 * 256; }

int64_t count_chunks(int64_t n, const int64_t* numels) {
    int64_t c = 0;
    for (int64_t t = 0; t < n; ++t) c += (numels[t] + kChunk - 1) / kChunk;
    return c;
}

struct Layout {
    int64_t table_bytes, partial_bytes, scalar_bytes;
};

// Table: [params n][grads n][exp_avgs n][exp_avg_sqs n] as 64-bit words,
// then [chunk tensor][chunk begin][chunk end] (chunks each).
Layout layout_for(int64_t n, int64_t chunks) {
    return {align256((4 * n + 3 * chunks) * 8), align256(chunks * 8), 256};
}

struct DevTable {
    float* const* params;
    const float* const* grads;
    float* const* exp_avgs;
    float* const* exp_avg_sqs;
    const int64_t *chunk_tensor, *chunk_begin, *chunk_end;
    int64_t chunks;
};

struct DevScalars {
    float beta1, one_minus_beta1, beta2, one_minus_beta2, bc2_sqrt, eps, step_size, decay, l2;
    int decoupled, use_l2;
};

__global__ void norm_partial_kernel(DevTable t, double* __restrict__ partial) {
    __shared__ double buf[kThreads];
    for (int64_t c = blockIdx.x; c < t.chunks; c += gridDim.x) {
        const float* g = t.grads[t.chunk_tensor[c]];
        double acc = 0.0;
        for (int64_t i = t.chunk_begin[c] + threadIdx.x; i < t.chunk_end[c]; i += blockDim.x)
            acc += double(g[i]) * double(g[i]);
        buf[threadIdx.x] = acc;
        __syncthreads();
        for (unsigned s = kThreads / 2; s > 0; s >>= 1) {
            if (threadIdx.x < s) buf[threadIdx.x] += buf[threadIdx.x + s];
            __syncthreads();
        }
        if (threadIdx.x == 0) partial[c] = buf[0];
        __syncthreads();
    }
}

__global__ void norm_final_kernel(int64_t chunks, const double* __restrict__ partial, double max_norm,
                                  float* __restrict__ clip, float* __restrict__ norm_out) {
    __shared__ double buf[kThreads];
    double acc = 0.0;
    for (int64_t c = threadIdx.x; c < chunks; c += blockDim.x) acc += partial[c];
    buf[threadIdx.x] = acc;
    __syncthreads();
    for (unsigned s = kThreads / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) buf[threadIdx.x] += buf[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        const double norm = sqrt(buf[0]);
        const double coef = max_norm / (norm + 1e-6);
        *clip = float(coef < 1.0 ? coef : 1.0);
        if (norm_out != nullptr) *norm_out = float(norm);
    }
}

__global__ void update_kernel(DevTable t, DevScalars s, const float* __restrict__ clip_ptr) {
    const float clip = clip_ptr != nullptr ? *clip_ptr : 1.0f;
    const float neg_step = -s.step_size;
    for (int64_t c = blockIdx.x; c < t.chunks; c += gridDim.x) {
        const int64_t k = t.chunk_tensor[c];
        float* __restrict__ p = t.params[k];
        const float* __restrict__ gr = t.grads[k];
        float* __restrict__ m = t.exp_avgs[k];
        float* __restrict__ v = t.exp_avg_sqs[k];
        for (int64_t i = t.chunk_begin[c] + threadIdx.x; i < t.chunk_end[c]; i += blockDim.x) {
            float g = gr[i] * clip;
            float pi = p[i];
            if (s.decoupled) pi = pi * s.decay;
            if (s.use_l2) g = g + s.l2 * pi;
            const float mi = m[i] * s.beta1 + s.one_minus_beta1 * g;
            const float vi = v[i] * s.beta2 + s.one_minus_beta2 * g * g;
            m[i] = mi;
            v[i] = vi;
            p[i] = pi + neg_step * (mi / (sqrtf(vi) / s.bc2_sqrt + s.eps));
        }
    }
}

}  // namespace

int64_t adam_workspace_bytes(int64_t n, const int64_t* numels) {
    const Layout l = layout_for(n, count_chunks(n, numels));
    return l.table_bytes + l.partial_bytes + l.scalar_bytes;
}

void adam_step(void* stream, int64_t n, float* const* params, const float* const* grads, float* const* exp_avgs,
               float* const* exp_avg_sqs, const int64_t* numels, const cpu::AdamConfig& c, float* grad_norm_out,
               void* workspace) {
    const int64_t chunks = count_chunks(n, numels);
    const Layout l = layout_for(n, chunks);
    cudaStream_t s = as_stream(stream);

    std::vector<int64_t> h(static_cast<size_t>(4 * n + 3 * chunks));
    for (int64_t t = 0; t < n; ++t) {
        h[t] = reinterpret_cast<int64_t>(params[t]);
        h[n + t] = reinterpret_cast<int64_t>(grads[t]);
        h[2 * n + t] = reinterpret_cast<int64_t>(exp_avgs[t]);
        h[3 * n + t] = reinterpret_cast<int64_t>(exp_avg_sqs[t]);
    }
    int64_t* ct = h.data() + 4 * n;
    int64_t* cb = ct + chunks;
    int64_t* ce = cb + chunks;
    int64_t k = 0;
    for (int64_t t = 0; t < n; ++t)
        for (int64_t b = 0; b < numels[t]; b += kChunk, ++k) {
            ct[k] = t;
            cb[k] = b;
            ce[k] = std::min(numels[t], b + kChunk);
        }
    // Pageable source: staged before cudaMemcpyAsync returns.
    check(cudaMemcpyAsync(workspace, h.data(), h.size() * sizeof(int64_t), cudaMemcpyHostToDevice, s),
          "cudaMemcpyAsync (Adam tensor table)");

    int64_t* words = static_cast<int64_t*>(workspace);
    DevTable table{reinterpret_cast<float* const*>(words), reinterpret_cast<const float* const*>(words + n),
                   reinterpret_cast<float* const*>(words + 2 * n), reinterpret_cast<float* const*>(words + 3 * n),
                   words + 4 * n, words + 4 * n + chunks, words + 4 * n + 2 * chunks, chunks};
    auto* partial = reinterpret_cast<double*>(static_cast<char*>(workspace) + l.table_bytes);
    auto* clip = reinterpret_cast<float*>(static_cast<char*>(workspace) + l.table_bytes + l.partial_bytes);

    const unsigned int grid = static_cast<unsigned int>(std::min<int64_t>(chunks, 65535));
    const bool clipping = c.max_grad_norm > 0.0;
    if (clipping) {
        norm_partial_kernel<<<grid, kThreads, 0, s>>>(table, partial);
        check_launch("norm_partial_kernel");
        norm_final_kernel<<<1, kThreads, 0, s>>>(chunks, partial, c.max_grad_norm, clip, grad_norm_out);
        check_launch("norm_final_kernel");
    }
    const cpu::AdamScalars a = cpu::adam_scalars(c);
    const DevScalars ds{a.beta1, a.one_minus_beta1, a.beta2, a.one_minus_beta2, a.bc2_sqrt, a.eps, a.step_size,
                        a.decay, a.l2, c.decoupled ? 1 : 0, (!c.decoupled && c.weight_decay != 0.0) ? 1 : 0};
    update_kernel<<<grid, kThreads, 0, s>>>(table, ds, clipping ? clip : nullptr);
    check_launch("update_kernel");
}

}  // namespace dynrec::cuda
