// The fused chain's forward kernel (see fused_chain.cu for the math): a
// block owns R rows and runs every step on them in shared memory, the
// step's input and output buffers swapping after each step.
#include "cuda/fused_chain_tiles.cuh"

namespace dynrec::cuda::fused {

namespace {

__device__ void dense_forward_rows(const DevChain& c, const DevStep& st, int R, int rows, int64_t row0,
                                   const float* in, float* out, float* stage) {
    gemm_rows<true>(R, st.n_out, st.n_in, SharedRows{in, c.ld}, st.w, st.n_in, stage, [&](int r, int o, float v) {
        v = activate_dev(st.act, v + (st.b ? __ldg(st.b + o) : 0.0f));
        out[r * c.ld + o] = v;
        if (r < rows) st.out[(row0 + r) * st.n_out + o] = v;
    });
}

template <bool TF32>
__device__ void generated_forward_rows(const DevChain& c, const DevStep& st, int R, int rows, int64_t row0,
                                       const float* in, float* out, const float* zs, float* stage) {
    const int no = st.n_out, tid = static_cast<int>(threadIdx.x);
    // out = c_b + z c_w^T
    if (st.c_w) {
        gemm_rows<true>(R, no, c.n_cond, SharedRows{zs, c.ldz}, st.c_w, c.n_cond, stage, [&](int r, int o, float v) {
            out[r * c.ld + o] = v + (st.c_b ? __ldg(st.c_b + o) : 0.0f);
        });
    } else {
        for (int e = tid; e < R * no; e += kThreads) out[(e / no) * c.ld + e % no] = st.c_b ? __ldg(st.c_b + e % no) : 0.0f;
    }
    __syncthreads();
    // out[r, o] += sum_a in[r, a] (S_r + g_b)[a, o], a tile of (a, o) at a time; each (r, o) owned by one thread.
    for_each_s_tile<TF32>(st, R, zs, c.ldz, c.n_cond, stage, [&](int j0) {
        const int j1 = j0 + kTileCols;
        for (int e = tid; e < R * no; e += kThreads) {
            const int r = e / no, o = e % no;
            const int a_end = (j1 - 1 - o) / no < st.n_in - 1 ? (j1 - 1 - o) / no : st.n_in - 1;
            float acc = 0.0f;
            for (int a = j0 > o ? (j0 - o + no - 1) / no : 0; a <= a_end; ++a)
                acc = fmaf(in[r * c.ld + a], stage[r * kSLd + a * no + o - j0], acc);
            out[r * c.ld + o] += acc;
        }
    });
    for (int e = tid; e < R * no; e += kThreads) {
        const int r = e / no, o = e % no;
        const float v = activate_dev(st.act, out[r * c.ld + o]);
        out[r * c.ld + o] = v;
        if (r < rows) st.out[(row0 + r) * no + o] = v;
    }
}

template <bool TF32>
__global__ void __launch_bounds__(kThreads, 2) chain_forward_kernel(DevChain c) {
    extern __shared__ __align__(128) float smem[];
    const SharedLayout l = shared_layout(c, 2, false);
    const int R = c.rows;
    float* in = smem;  // the step's input rows; its output goes to `out`, then they swap
    float* out = smem + l.act;
    float* zs = smem + l.zs;
    float* stage = smem + l.stage;
    const int64_t row0 = int64_t(blockIdx.x) * R;
    const int rows = c.batch - row0 < R ? static_cast<int>(c.batch - row0) : R;
    load_rows(in, c.ld, c.s[0].in, c.s[0].n_in, R, rows, row0);
    load_z_rows(c, zs, rows, row0);
    __syncthreads();
    for (int s = 0; s < c.n_steps; ++s) {
        if (c.s[s].generated)
            generated_forward_rows<TF32>(c, c.s[s], R, rows, row0, in, out, zs, stage);
        else
            dense_forward_rows(c, c.s[s], R, rows, row0, in, out, stage);
        __syncthreads();
        float* t = in;
        in = out, out = t;
    }
}

}  // namespace

void launch_chain_forward(const ChainLaunch& launch, const DevChain& d) {
    static std::atomic<bool> opted_in[2][kMaxDevices];
    if (launch.tf32) {
        allow_shared(reinterpret_cast<const void*>(chain_forward_kernel<true>), opted_in[1], launch.limits,
                     launch.shared_bytes);
        chain_forward_kernel<true><<<grid_for(d), kThreads, launch.shared_bytes, launch.stream>>>(d);
    } else {
        allow_shared(reinterpret_cast<const void*>(chain_forward_kernel<false>), opted_in[0], launch.limits,
                     launch.shared_bytes);
        chain_forward_kernel<false><<<grid_for(d), kThreads, launch.shared_bytes, launch.stream>>>(d);
    }
    check_launch("chain_forward_kernel");
}

}  // namespace dynrec::cuda::fused
