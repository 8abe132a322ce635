// The fused chain's backward kernel (see fused_chain.cu for the math): per
// block of rows, last step first, every step's pre-activation gradient
// (written out for the weight gradients), grad_x, and grad_z accumulated in
// shared memory over the generated steps. The weight gradients, sums over
// the batch, are the host's next launches (fused_chain.cu).
#include "cuda/fused_chain_tiles.cuh"

namespace dynrec::cuda::fused {

namespace {

// dz[r, c] += sum_a h[r, a] T[r, a, c] with T[r, a, c] = sum_o g[r, o] g_w[(a*n_out + o)*n_cond + c]:
// per 64-column tile of c, the block splits a four ways; a thread owns 4 rows x 4 columns, forms
// T for its a in registers and folds it in at once; the four partial sums are then added in a fixed
// order. (The output, R x n_cond, is too small to give 256 threads enough work without the split.)
// CT columns per thread (TC = 16 CT per tile): 4, or fewer for a narrow condition so no lane idles.
template <int CT>
__device__ void generated_grad_z_tiles(const DevChain& c, const DevStep& st, int R, const float* h, const float* g,
                                       float* dzs, float* stage) {
    constexpr int KS = 4, CL = 16, RG = 4, RT = 4, TC = CL * CT, BC = 16;
    static_assert(KS * CL * RG == kThreads && RG * RT == kMaxRows, "thread layout");
    static_assert(KS * BC * TC <= kStageFloats && KS * kMaxRows * TC <= kStageFloats, "staging");
    const int tid = static_cast<int>(threadIdx.x), cl = tid % CL, rg = (tid / CL) % RG, ks = tid / (CL * RG);
    const int ni = st.n_in, no = st.n_out, nc = c.n_cond;
    for (int c0 = 0; c0 < nc; c0 += TC) {
        float dz[RT][CT];
#pragma unroll
        for (int i = 0; i < RT; ++i)
#pragma unroll
            for (int j = 0; j < CT; ++j) dz[i][j] = 0.0f;
        for (int a0 = 0; a0 < ni; a0 += KS) {
            float t[RT][CT];
#pragma unroll
            for (int i = 0; i < RT; ++i)
#pragma unroll
                for (int j = 0; j < CT; ++j) t[i][j] = 0.0f;
            for (int b0 = 0; b0 < no; b0 += BC) {
                // stage[(s*BC + bb)*TC + cc] = g_w[((a0 + s)*no + b0 + bb)*nc + c0 + cc], c fastest.
                for (int e = tid; e < KS * BC * TC; e += kThreads) {
                    const int cc = e % TC, bb = (e / TC) % BC, sp = e / (TC * BC);
                    const int a = a0 + sp, b = b0 + bb, col = c0 + cc;
                    stage[e] = a < ni && b < no && col < nc ? __ldg(st.w + (int64_t(a) * no + b) * nc + col) : 0.0f;
                }
                __syncthreads();
                const int depth = no - b0 < BC ? no - b0 : BC;
                for (int bb = 0; bb < depth; ++bb) {
                    float gv[CT];
#pragma unroll
                    for (int j = 0; j < CT; ++j) gv[j] = stage[(ks * BC + bb) * TC + cl + CL * j];
#pragma unroll
                    for (int i = 0; i < RT; ++i) {
                        const int r = rg + RG * i;
                        const float gr = r < R ? g[r * c.ld + b0 + bb] : 0.0f;
#pragma unroll
                        for (int j = 0; j < CT; ++j) t[i][j] = fmaf(gr, gv[j], t[i][j]);
                    }
                }
                __syncthreads();
            }
            const int a = a0 + ks;
#pragma unroll
            for (int i = 0; i < RT; ++i) {
                const int r = rg + RG * i;
                const float hv = r < R && a < ni ? h[r * c.ld + a] : 0.0f;
#pragma unroll
                for (int j = 0; j < CT; ++j) dz[i][j] = fmaf(hv, t[i][j], dz[i][j]);
            }
        }
        // The four splits' partial sums, added in split order.
#pragma unroll
        for (int i = 0; i < RT; ++i)
#pragma unroll
            for (int j = 0; j < CT; ++j) stage[(ks * kMaxRows + rg + RG * i) * TC + cl + CL * j] = dz[i][j];
        __syncthreads();
        for (int e = tid; e < R * TC; e += kThreads) {
            const int r = e / TC, cc = e % TC;
            if (c0 + cc >= nc) continue;
            float sum = 0.0f;
            for (int sp = 0; sp < KS; ++sp) sum += stage[(sp * kMaxRows + r) * TC + cc];
            dzs[r * c.ldz + c0 + cc] += sum;
        }
        __syncthreads();
    }
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
// The same sum on the tensor cores as dz = u g_w with u[r, a*n_out + o] = h[r, a] g[r, o]: per
// 64-column tile of c, 32 entries j at a time (that slice of u and of g_w staged); warp w owns
// split w / 2 (8 of the 32 j) and columns 32 (w % 2) + [0, 32); the four splits' partial sums are
// then added in split order.
__device__ void generated_grad_z_tf32(const DevChain& c, const DevStep& st, int R, const float* h, const float* g,
                                      float* dzs, float* stage) {
    namespace wmma = nvcuda::wmma;
    constexpr int JC = 32, TC = 64, KS = 4, LU = JC + 4, LB = TC + 4;
    static_assert(kMaxRows * LU + JC * LB <= kStageFloats && KS * kMaxRows * TC <= kStageFloats, "staging");
    static_assert(kMaxRows * LU % 8 == 0, "g_w's slice must start 32-byte aligned");
    float* us = stage;                   // [16][LU]
    float* bs = stage + kMaxRows * LU;   // [JC][LB]
    const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, ks = warp / 2, nh = warp % 2;
    const int no = st.n_out, nc = c.n_cond, J = st.n_in * no;
    for (int c0 = 0; c0 < nc; c0 += TC) {
        Accumulator acc[2];
        wmma::fill_fragment(acc[0], 0.0f);
        wmma::fill_fragment(acc[1], 0.0f);
        for (int j0 = 0; j0 < J; j0 += JC) {
            for (int e = tid; e < kMaxRows * JC; e += kThreads) {
                const int r = e / JC, jj = e % JC, j = j0 + jj;
                us[r * LU + jj] = r < R && j < J ? h[r * c.ld + j / no] * g[r * c.ld + j % no] : 0.0f;
            }
            for (int e = tid; e < JC * TC; e += kThreads) {
                const int jj = e / TC, cc = e % TC, j = j0 + jj, col = c0 + cc;
                bs[jj * LB + cc] = j < J && col < nc ? __ldg(st.w + int64_t(j) * nc + col) : 0.0f;
            }
            __syncthreads();
            mma_16x32x8(acc, us + ks * 8, LU, bs + ks * 8 * LB + nh * 32, LB);
            __syncthreads();
        }
#pragma unroll
        for (int f = 0; f < 2; ++f)
            wmma::store_matrix_sync(stage + ks * kMaxRows * TC + nh * 32 + f * 16, acc[f], TC, wmma::mem_row_major);
        __syncthreads();
        for (int e = tid; e < R * TC; e += kThreads) {
            const int r = e / TC, cc = e % TC;
            if (c0 + cc >= nc) continue;
            float sum = 0.0f;
            for (int sp = 0; sp < KS; ++sp) sum += stage[(sp * kMaxRows + r) * TC + cc];
            dzs[r * c.ldz + c0 + cc] += sum;
        }
        __syncthreads();
    }
}
#endif

template <bool TF32>
__device__ void generated_grad_z(const DevChain& c, const DevStep& st, int R, const float* h, const float* g,
                                 float* dzs, float* stage) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    if constexpr (TF32) {
        generated_grad_z_tf32(c, st, R, h, g, dzs, stage);
        return;
    }
#endif
    if (c.n_cond <= 16)
        generated_grad_z_tiles<1>(c, st, R, h, g, dzs, stage);
    else if (c.n_cond <= 32)
        generated_grad_z_tiles<2>(c, st, R, h, g, dzs, stage);
    else
        generated_grad_z_tiles<4>(c, st, R, h, g, dzs, stage);
}

// grad_h = gpre (S_r + g_b)^T and grad_z += (h ⊗ gpre) g_w + gpre c_w for one generated step.
template <bool TF32>
__device__ void generated_backward_rows(const DevChain& c, const DevStep& st, int R, bool want_h, bool want_z,
                                        const float* h, const float* g, float* gh, float* dzs, const float* zs,
                                        float* stage) {
    const int ni = st.n_in, no = st.n_out, tid = static_cast<int>(threadIdx.x);
    if (want_h) {
        for (int e = tid; e < R * ni; e += kThreads) gh[(e / ni) * c.ld + e % ni] = 0.0f;
        __syncthreads();
        // One warp per (r, a), its lanes over the tile's entries (a, o), which are contiguous (no bank
        // conflicts), summed by a fixed shuffle tree; lane 0 owns the (r, a) output for every tile.
        const int lane = tid % 32;
        for_each_s_tile<TF32>(st, R, zs, c.ldz, c.n_cond, stage, [&](int j0) {
            const int j1 = j0 + kTileCols < ni * no ? j0 + kTileCols : ni * no;
            const int a_lo = j0 / no, a_hi = (j1 - 1) / no;
            const int span = a_hi - a_lo + 1;
            for (int p = tid / 32; p < R * span; p += kThreads / 32) {
                const int r = p / span, a = a_lo + p % span;
                const int o_lo = a * no < j0 ? j0 - a * no : 0, o_hi = a * no + no > j1 ? j1 - a * no : no;
                float acc = 0.0f;
                for (int o = o_lo + lane; o < o_hi; o += 32)
                    acc = fmaf(stage[r * kSLd + a * no + o - j0], g[r * c.ld + o], acc);
                for (int off = 16; off > 0; off /= 2) acc += __shfl_down_sync(0xffffffffu, acc, off);
                if (lane == 0) gh[r * c.ld + a] += acc;
            }
        });
    }
    if (want_z) {
        generated_grad_z<TF32>(c, st, R, h, g, dzs, stage);
        if (st.c_w)
            gemm_rows<false>(R, c.n_cond, no, SharedRows{g, c.ld}, st.c_w, c.n_cond, stage,
                             [&](int r, int cc, float v) { dzs[r * c.ldz + cc] += v; });
    }
}

template <bool TF32>
__global__ void __launch_bounds__(kThreads, 2) chain_backward_kernel(DevChain c) {
    extern __shared__ __align__(128) float smem[];
    const SharedLayout l = shared_layout(c, 3, true);
    const int R = c.rows, tid = static_cast<int>(threadIdx.x);
    float* g = smem;  // the current step's gpre rows; its input gradient goes to `gh`, then they swap
    float* gh = smem + l.act;
    float* h = smem + 2 * l.act;
    float* zs = smem + l.zs;
    float* dzs = smem + l.dzs;
    float* stage = smem + l.stage;
    const int64_t row0 = int64_t(blockIdx.x) * R;
    const int rows = c.batch - row0 < R ? static_cast<int>(c.batch - row0) : R;
    load_z_rows(c, zs, rows, row0);
    for (int e = tid; e < R * c.n_cond; e += kThreads) dzs[(e / c.n_cond) * c.ldz + e % c.n_cond] = 0.0f;
    // The last step's gpre = grad_y * act'(y).
    const int last = c.n_steps - 1;
    {
        const DevStep& st = c.s[last];
        const int no = st.n_out;
        for (int e = tid; e < R * no; e += kThreads) {
            const int r = e / no, o = e % no;
            float v = 0.0f;
            if (r < rows) {
                const int64_t at = (row0 + r) * no + o;
                v = __ldg(c.grad_y + at) * activation_grad_dev(st.act, __ldg(st.out + at));
                st.gpre[at] = v;
            }
            g[r * c.ld + o] = v;
        }
    }
    __syncthreads();
    for (int s = last; s >= 0; --s) {
        const DevStep& st = c.s[s];
        const bool want_h = s > 0 || c.grad_x != nullptr;
        const bool want_z = st.generated && c.grad_z != nullptr;
        if (!want_h && !want_z) break;
        const int ni = st.n_in, in_act = s > 0 ? c.s[s - 1].act : DYNREC_ACT_NONE;
        load_rows(h, c.ld, st.in, ni, R, rows, row0);
        __syncthreads();
        if (st.generated) {
            generated_backward_rows<TF32>(c, st, R, want_h, want_z, h, g, gh, dzs, zs, stage);
            __syncthreads();
            if (want_h)
                for (int e = tid; e < R * ni; e += kThreads) {
                    const int at = (e / ni) * c.ld + e % ni;
                    gh[at] *= activation_grad_dev(in_act, h[at]);
                }
        } else if (want_h) {
            gemm_rows<false>(R, ni, st.n_out, SharedRows{g, c.ld}, st.w, ni, stage, [&](int r, int i, float v) {
                gh[r * c.ld + i] = v * activation_grad_dev(in_act, h[r * c.ld + i]);
            });
        }
        __syncthreads();
        if (want_h) store_rows(s > 0 ? c.s[s - 1].gpre : c.grad_x, gh, c.ld, ni, rows, row0);
        __syncthreads();
        float* t = g;
        g = gh, gh = t;
    }
    if (c.grad_z) store_rows(c.grad_z, dzs, c.ldz, c.n_cond, rows, row0);
}

}  // namespace

void launch_chain_backward(const ChainLaunch& launch, const DevChain& d) {
    static std::atomic<bool> opted_in[2][kMaxDevices];
    if (launch.tf32) {
        allow_shared(reinterpret_cast<const void*>(chain_backward_kernel<true>), opted_in[1], launch.limits,
                     launch.shared_bytes);
        chain_backward_kernel<true><<<grid_for(d), kThreads, launch.shared_bytes, launch.stream>>>(d);
    } else {
        allow_shared(reinterpret_cast<const void*>(chain_backward_kernel<false>), opted_in[0], launch.limits,
                     launch.shared_bytes);
        chain_backward_kernel<false><<<grid_for(d), kThreads, launch.shared_bytes, launch.stream>>>(d);
    }
    check_launch("chain_backward_kernel");
}

}  // namespace dynrec::cuda::fused
