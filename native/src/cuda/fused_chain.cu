// The fused chain (fused_chain.cuh). A block of 256 threads owns R <= 16 rows
// (as many as ~100 KB of shared memory holds, fewer when the batch would not
// fill the SMs); each step is one or more in-block GEMMs over those rows,
// R x N outputs, the reduction staged through shared memory 16 deep:
//   dense:      out[r, o]  = act(b[o] + sum_i h[r, i] W[o, i])
//   generated:  out[r, o]  = act(c_b[o] + sum_c z[r, c] c_w[o, c]
//                                + sum_a h[r, a] (g_b[a, o] + S_r[a, o])),
//               S_r[a, o]  = sum_c z[r, c] g_w[a*n_out + o, c], formed 256
//               entries (a, o) at a time and reduced over a in a fixed order.
// Backward per row, last step first (gpre = gradient of a step's
// pre-activation, written to the workspace for the weight gradients):
//   dense:      grad_h[r, i] = sum_o gpre[r, o] W[o, i]
//   generated:  grad_h[r, a] = sum_o (S_r[a, o] + g_b[a, o]) gpre[r, o]
//               grad_z[r, c] += sum_{a,o} h[r, a] gpre[r, o] g_w[a*n_out + o, c]
//                               + sum_o gpre[r, o] c_w[o, c]
//   then gpre of the previous step = grad_h * act'(h).
// Every sum runs in a fixed order: results are deterministic.
// With TF32 on (the default; sm_80+), the two big contractions of a generated
// step, forming S_r and grad_z's sum over (a, o), run on the tensor cores
// (nvcuda::wmma m16n16k8, FP32 accumulation): the same rounding the outer and
// materialized paths apply there. The rest stays exact FP32.
#include <mma.h>

#include <algorithm>
#include <atomic>

#include "common/math_mode.h"
#include "cuda/common.cuh"
#include "cuda/fused_chain.cuh"
#include "cuda/hyper_linear.cuh"
#include "cuda/outer_gemm.cuh"

namespace dynrec::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kMaxRows = 16;      // rows per block at most
constexpr int kMaxWidth = 256;    // widest step input / output and n_cond
constexpr int kSlice = 16;        // reduction depth staged per pass
constexpr int kTileCols = 256;    // widest output tile of one in-block GEMM
constexpr int kSLd = kTileCols + 4;  // row stride of an S tile in `stage`: a multiple of 4, as wmma's ldm must be
constexpr int kStageFloats = kSlice * kSLd;
static_assert(kSlice * (kTileCols + 1) <= kStageFloats, "a gemm_tile slice must fit the staging buffer");
static_assert(kMaxRows * kSLd <= kStageFloats && kStageFloats % 8 == 0, "an S tile must fit the staging buffer");
constexpr size_t kDefaultShared = 48 * 1024;  // what a launch may use without the opt-in attribute
// Our cap past that (with the opt-in): ~100 KB leaves room for two blocks on an H100/H200 SM (228 KB).
constexpr size_t kSharedBudget = 100 * 1024;
constexpr int kMaxDevices = 64;

// A step as the kernels see it (int sizes: every width <= 256, n_in * n_out <= 65536).
struct DevStep {
    int generated, n_in, n_out, act;
    const float *w, *b, *c_w, *c_b;
    const float* in;  // the step's input [batch, n_in]: x or the previous step's output
    float* out;       // [batch, n_out]
    float* gpre;      // backward: the pre-activation gradient [batch, n_out] (workspace)
};

struct DevChain {
    int64_t batch;
    int n_cond, n_steps, ld, ldz, rows;  // ld / ldz: shared row strides of activations / z
    int z_rows, z_cols;                  // z in shared memory; TF32 path: 16 rows (a wmma A tile), columns
                                         // zero-padded to a multiple of 8 (the MMA depth)
    const float* z;
    DevStep s[kFusedMaxSteps];
    const float* grad_y;
    float *grad_x, *grad_z;
};

// Where a kernel's shared buffers start, in floats from the (128-byte aligned) base. Every
// start is a multiple of 8 floats: wmma's loads and stores need 32-byte aligned pointers.
struct SharedLayout {
    int act;     // activation buffer i [rows][ld] starts at i * act
    int zs;      // z rows [z_rows][ldz]
    int dzs;     // grad_z rows [rows][ldz] (backward)
    int stage;   // kStageFloats
    int floats;
};

__host__ __device__ inline int align8(int n) { return (n + 7) / 8 * 8; }

__host__ __device__ inline SharedLayout shared_layout(const DevChain& d, int activation_buffers, bool with_dz) {
    SharedLayout l{};
    l.act = align8(d.rows * d.ld);
    l.zs = activation_buffers * l.act;
    l.dzs = l.zs + align8(d.z_rows * d.ldz);
    l.stage = l.dzs + (with_dz ? align8(d.rows * d.ldz) : 0);
    l.floats = l.stage + kStageFloats;
    return l;
}

// Reads a(r, k) from a row-major shared matrix.
struct SharedRows {
    const float* m;
    int ld;
    __device__ float operator()(int r, int k) const { return m[r * ld + k]; }
};

// One output tile of an in-block GEMM: for r < R and n in [n0, n0 + NL*CT),
// epi(r, n, sum_k a(r, k) B(n, k)) with B(n, k) = bm[n*ldb + k] (kBNK, e.g. an
// nn.Linear weight) or bm[k*ldb + n]. Thread t owns rows t/NL + G*i and
// columns n0 + t%NL + NL*j. Every thread of the block must call it (barriers).
template <int NL, int CT, bool kBNK, class A, class Epi>
__device__ __forceinline__ void gemm_tile(int R, int n0, int N, int K, const A& a, const float* __restrict__ bm,
                                          int ldb, float* stage, const Epi& epi) {
    constexpr int G = kThreads / NL, RT = (kMaxRows + G - 1) / G, NT = NL * CT, LDS = NT + 1;
    static_assert(NT <= kTileCols, "tile wider than the staging buffer");
    const int tid = static_cast<int>(threadIdx.x), cl = tid % NL, rg = tid / NL;
    float acc[RT][CT];
#pragma unroll
    for (int i = 0; i < RT; ++i)
#pragma unroll
        for (int j = 0; j < CT; ++j) acc[i][j] = 0.0f;
    for (int k0 = 0; k0 < K; k0 += kSlice) {
        for (int e = tid; e < kSlice * NT; e += kThreads) {
            // Walk memory's contiguous index fastest so neighbouring threads load neighbouring floats.
            const int kk = kBNK ? e % kSlice : e / NT, nn = kBNK ? e / kSlice : e % NT;
            const int n = n0 + nn, k = k0 + kk;
            stage[kk * LDS + nn] =
                n < N && k < K ? __ldg(kBNK ? bm + int64_t(n) * ldb + k : bm + int64_t(k) * ldb + n) : 0.0f;
        }
        __syncthreads();
        const int depth = K - k0 < kSlice ? K - k0 : kSlice;
        for (int kk = 0; kk < depth; ++kk) {
            float bv[CT];
#pragma unroll
            for (int j = 0; j < CT; ++j) bv[j] = stage[kk * LDS + cl + NL * j];
#pragma unroll
            for (int i = 0; i < RT; ++i) {
                const int r = rg + G * i;
                if (r < R) {
                    const float av = a(r, k0 + kk);
#pragma unroll
                    for (int j = 0; j < CT; ++j) acc[i][j] = fmaf(av, bv[j], acc[i][j]);
                }
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < RT; ++i)
#pragma unroll
        for (int j = 0; j < CT; ++j) {
            const int r = rg + G * i, n = n0 + cl + NL * j;
            if (r < R && n < N) epi(r, n, acc[i][j]);
        }
}

// The whole R x N product, the tile shape picked by N (narrow outputs get
// more row groups so that every thread has work).
template <bool kBNK, class A, class Epi>
__device__ void gemm_rows(int R, int N, int K, const A& a, const float* __restrict__ bm, int ldb, float* stage,
                          const Epi& epi) {
    if (N > 128) {
        for (int n0 = 0; n0 < N; n0 += 256) gemm_tile<64, 4, kBNK>(R, n0, N, K, a, bm, ldb, stage, epi);
    } else if (N > 64) {
        gemm_tile<32, 4, kBNK>(R, 0, N, K, a, bm, ldb, stage, epi);
    } else if (N > 32) {
        gemm_tile<16, 4, kBNK>(R, 0, N, K, a, bm, ldb, stage, epi);
    } else {
        gemm_tile<16, 2, kBNK>(R, 0, N, K, a, bm, ldb, stage, epi);
    }
}

// dst[r, :n] = rows row0 + r of src for r < R (zeros past the batch, and in columns [n, width)).
__device__ void load_rows(float* dst, int ld, const float* __restrict__ src, int n, int R, int rows, int64_t row0,
                          int width = 0) {
    const int w = width > n ? width : n;
    for (int e = static_cast<int>(threadIdx.x); e < R * w; e += kThreads) {
        const int r = e / w, c = e % w;
        dst[r * ld + c] = r < rows && c < n ? __ldg(src + (row0 + r) * n + c) : 0.0f;
    }
}

// The block's z rows as the chain lays them out (z_rows x z_cols, zeros past the batch and n_cond).
__device__ void load_z_rows(const DevChain& c, float* zs, int rows, int64_t row0) {
    load_rows(zs, c.ldz, c.z, c.n_cond, c.z_rows, rows, row0, c.z_cols);
}

// dst rows row0 + r (r < rows) = src[r, :n], optionally added to.
__device__ void store_rows(float* dst, const float* src, int ld, int n, int rows, int64_t row0, bool add = false) {
    for (int e = static_cast<int>(threadIdx.x); e < rows * n; e += kThreads) {
        const int r = e / n, c = e % n;
        float* d = dst + (row0 + r) * n + c;
        *d = add ? *d + src[r * ld + c] : src[r * ld + c];
    }
}

// One S_r tile in exact FP32: stage[r * kSLd + jj] = (S_r + g_b)[j0 + jj] for r < R.
__device__ void s_tile_fp32(const DevStep& st, int R, const float* zs, int ldz, int n_cond, int j0, float* stage) {
    const int J = st.n_in * st.n_out;
    gemm_tile<64, 4, true>(R, j0, J, n_cond, SharedRows{zs, ldz}, st.w, n_cond, stage, [&](int r, int j, float v) {
        stage[r * kSLd + (j - j0)] = v + (st.b ? __ldg(st.b + j) : 0.0f);
    });
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
using Accumulator = nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 8, float>;

// acc[f] += A B_f for f = 0, 1, one warp: A 16 x 8 (row-major at a, ldm lda), B_f 8 x 16 (row-major
// at b + 16 f, ldm ldb), both rounded to TF32. Pointers 32-byte aligned, ldm a multiple of 4.
__device__ __forceinline__ void mma_16x32x8(Accumulator (&acc)[2], const float* a, int lda, const float* b, int ldb) {
    namespace wmma = nvcuda::wmma;
    wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> af;
    wmma::load_matrix_sync(af, a, lda);
#pragma unroll
    for (int t = 0; t < af.num_elements; ++t) af.x[t] = wmma::__float_to_tf32(af.x[t]);
#pragma unroll
    for (int f = 0; f < 2; ++f) {
        wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> bf;
        wmma::load_matrix_sync(bf, b + f * 16, ldb);
#pragma unroll
        for (int t = 0; t < bf.num_elements; ++t) bf.x[t] = wmma::__float_to_tf32(bf.x[t]);
        wmma::mma_sync(acc[f], af, bf, acc[f]);
    }
}

// The same tile on the tensor cores, for all 16 rows of zs (rows past R are zeros): warp w owns
// columns [32w, 32w + 32) as two 16x16 accumulators; g_w^T is staged 16 deep, k-major.
__device__ void s_tile_tf32(const DevStep& st, int R, const float* zs, int ldz, int n_cond, int j0, float* stage) {
    namespace wmma = nvcuda::wmma;
    const int tid = static_cast<int>(threadIdx.x), warp = tid / 32, J = st.n_in * st.n_out;
    Accumulator acc[2];
    wmma::fill_fragment(acc[0], 0.0f);
    wmma::fill_fragment(acc[1], 0.0f);
    for (int k0 = 0; k0 < n_cond; k0 += kSlice) {
        for (int e = tid; e < kSlice * kTileCols; e += kThreads) {
            const int kk = e % kSlice, nn = e / kSlice, j = j0 + nn, k = k0 + kk;  // k fastest: g_w's rows
            stage[kk * kSLd + nn] = j < J && k < n_cond ? __ldg(st.w + int64_t(j) * n_cond + k) : 0.0f;
        }
        __syncthreads();
        for (int ks = 0; ks < kSlice && k0 + ks < n_cond; ks += 8) {
            mma_16x32x8(acc, zs + k0 + ks, ldz, stage + ks * kSLd + warp * 32, kSLd);
        }
        __syncthreads();
    }
#pragma unroll
    for (int f = 0; f < 2; ++f)
        wmma::store_matrix_sync(stage + warp * 32 + f * 16, acc[f], kSLd, wmma::mem_row_major);
    if (st.b) {
        __syncthreads();
        for (int e = tid; e < R * kTileCols; e += kThreads) {
            const int r = e / kTileCols, jj = e % kTileCols;
            if (j0 + jj < J) stage[r * kSLd + jj] += __ldg(st.b + j0 + jj);
        }
    }
}
#endif

template <bool TF32>
__device__ void s_tile(const DevStep& st, int R, const float* zs, int ldz, int n_cond, int j0, float* stage) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    if constexpr (TF32) {
        s_tile_tf32(st, R, zs, ldz, n_cond, j0, stage);
        return;
    }
#endif
    s_tile_fp32(st, R, zs, ldz, n_cond, j0, stage);
}

// Walks the S_r tiles of a generated step: S_r[a, o] + g_b[a, o] for the
// 256 entries j = a*n_out + o in [j0, j0 + 256) of every row, handed to
// `use(j0)` in `stage` ([R][kSLd], tile-local column) after a barrier.
template <bool TF32, class Use>
__device__ void for_each_s_tile(const DevStep& st, int R, const float* zs, int ldz, int n_cond, float* stage,
                                const Use& use) {
    const int J = st.n_in * st.n_out;
    for (int j0 = 0; j0 < J; j0 += kTileCols) {
        s_tile<TF32>(st, R, zs, ldz, n_cond, j0, stage);
        __syncthreads();
        use(j0);
        __syncthreads();
    }
}

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

int64_t widest(const FusedChain& c) {
    int64_t w = c.steps[0].n_in;
    for (int s = 0; s < c.n_steps; ++s) w = std::max(w, c.steps[s].n_out);
    return w;
}

// The current device's SM count and shared memory a block may opt into, asked once per device.
struct DeviceLimits {
    int device, sms;
    size_t shared_optin;
};

DeviceLimits device_limits() {
    static std::atomic<int> sms[kMaxDevices], optin[kMaxDevices];  // 0 = not asked yet
    int device = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    if (device < 0 || device >= kMaxDevices) return {device, 1, kDefaultShared};
    int n = sms[device].load(std::memory_order_relaxed), o = optin[device].load(std::memory_order_relaxed);
    if (n == 0) {
        check(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute(SMs)");
        check(cudaDeviceGetAttribute(&o, cudaDevAttrMaxSharedMemoryPerBlockOptin, device),
              "cudaDeviceGetAttribute(shared memory opt-in)");
        optin[device].store(o, std::memory_order_relaxed);
        sms[device].store(n, std::memory_order_relaxed);
    }
    return {device, n, size_t(o)};
}

DevChain device_chain(const FusedChain& c, int rows, bool tf32) {
    DevChain d{};
    d.batch = c.batch;
    d.n_cond = static_cast<int>(c.n_cond);
    d.n_steps = c.n_steps;
    d.ld = static_cast<int>(widest(c)) + 1;
    // TF32: z is a wmma A operand (ldm a multiple of 4, columns zero-padded to a multiple of 8, 16 rows).
    d.ldz = tf32 ? align8(d.n_cond) + 4 : d.n_cond + 1;
    d.rows = rows;
    d.z_rows = tf32 ? kMaxRows : rows;
    d.z_cols = tf32 ? align8(d.n_cond) : d.n_cond;
    d.z = c.z;
    for (int s = 0; s < c.n_steps; ++s) {
        const FusedStep& st = c.steps[s];
        d.s[s] = {st.generated ? 1 : 0, static_cast<int>(st.n_in), static_cast<int>(st.n_out), st.activation,
                  st.w, st.b, st.c_w, st.c_b, s == 0 ? c.x : c.steps[s - 1].out, st.out, nullptr};
    }
    return d;
}

size_t shared_bytes(const DevChain& d, int activation_buffers, bool with_dz) {
    return size_t(shared_layout(d, activation_buffers, with_dz).floats) * sizeof(float);
}

// The chain for a kernel: rows per block the most (<= 16) whose buffers fit the shared memory
// budget, halved while the grid would leave SMs idle (more blocks beat more rows per block
// there), down to 4.
DevChain plan_chain(const FusedChain& c, const DeviceLimits& lim, bool tf32, int activation_buffers, bool with_dz) {
    const size_t budget = std::max(kDefaultShared, std::min(kSharedBudget, lim.shared_optin));
    const int forced = cuda_fused_rows();
    int r = forced ? forced : kMaxRows;
    while (r > 1 && shared_bytes(device_chain(c, r, tf32), activation_buffers, with_dz) > budget) r /= 2;
    while (!forced && r > 4 && (c.batch + r - 1) / r < lim.sms) r /= 2;
    return device_chain(c, r, tf32);
}

// Lets `kernel` use up to the budget on this device (once per device and kernel).
void allow_shared(const void* kernel, std::atomic<bool>* done, const DeviceLimits& lim, size_t bytes) {
    if (bytes <= kDefaultShared || lim.device < 0 || lim.device >= kMaxDevices) return;
    if (done[lim.device].load(std::memory_order_acquire)) return;
    const int budget = static_cast<int>(std::min(kSharedBudget, lim.shared_optin));
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, budget),
          "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)");
    done[lim.device].store(true, std::memory_order_release);
}

// Tensor cores for the generated steps' big contractions when TF32 is on and the GPU has them.
bool use_tf32() { return cuda_tf32_enabled() && device_has_tf32(); }

unsigned grid_for(const DevChain& d) { return static_cast<unsigned>((d.batch + d.rows - 1) / d.rows); }

// The split-K scratch of a step's weight-gradient GEMM (every ones column present).
int64_t wgrad_floats(const FusedChain& c, const FusedStep& st) {
    return outer_gemm_wgrad_workspace_floats(c.batch, st.n_out, st.n_in + 1, st.generated ? c.n_cond + 1 : 1);
}

// A dense step's weight and bias gradients as one wgrad GEMM of the outer-product engine with u =
// [in, 1] and v = the ones column alone: D(i, 0, o) = sum_r in[r, i] gpre[r, o] is grad_w[o, i],
// D(n_in, 0, o) = sum_r gpre[r, o] is grad_b[o]. The batch is split over ~1000 blocks and reduced
// in a fixed order, where cuBLAS + a column-sum kernel took two launches, the second one a handful
// of blocks walking all rows.
void dense_weight_grads(void* stream, int64_t batch, const FusedStep& st, const float* in, const float* gpre,
                        const FusedStepGrads& g, float* workspace) {
    if (!g.w && !g.b) return;
    const OuterFactors f{in, st.n_in, st.n_in, true, nullptr, 0, 0, true};
    OuterRegions<float> out;
    out.q_aug = g.w, out.q_aug_p = 1, out.q_aug_n = st.n_in;
    out.both = g.b, out.both_n = 1;
    outer_gemm_wgrad(stream, batch, st.n_out, f, gpre, st.n_out, out, workspace);
}

}  // namespace

bool fused_chain_fits(const FusedChain& c) {
    if (c.n_steps < 1 || c.n_steps > kFusedMaxSteps || c.n_cond < 1 || c.n_cond > kMaxWidth) return false;
    if (widest(c) > kMaxWidth) return false;
    return (c.batch + kMaxRows - 1) / kMaxRows < (int64_t(1) << 31) - 1;
}

int64_t fused_chain_workspace_floats(const FusedChain& c) {
    int64_t floats = 0, scratch = 0;
    for (int s = 0; s < c.n_steps; ++s) {
        floats += c.batch * c.steps[s].n_out;
        scratch = std::max(scratch, wgrad_floats(c, c.steps[s]));
    }
    return floats + scratch;
}

void fused_chain_forward(void* stream, const FusedChain& c) {
    static std::atomic<bool> opted_in[2][kMaxDevices];
    const DeviceLimits lim = device_limits();
    const bool tf32 = use_tf32();
    const DevChain d = plan_chain(c, lim, tf32, 2, false);
    const size_t bytes = shared_bytes(d, 2, false);
    if (tf32) {
        allow_shared(reinterpret_cast<const void*>(chain_forward_kernel<true>), opted_in[1], lim, bytes);
        chain_forward_kernel<true><<<grid_for(d), kThreads, bytes, as_stream(stream)>>>(d);
    } else {
        allow_shared(reinterpret_cast<const void*>(chain_forward_kernel<false>), opted_in[0], lim, bytes);
        chain_forward_kernel<false><<<grid_for(d), kThreads, bytes, as_stream(stream)>>>(d);
    }
    check_launch("chain_forward_kernel");
}

void fused_chain_backward(void* stream, const FusedChain& c, const float* grad_y, float* grad_x, float* grad_z,
                          const FusedStepGrads* grads, float* workspace) {
    static std::atomic<bool> opted_in[2][kMaxDevices];
    const DeviceLimits lim = device_limits();
    const bool tf32 = use_tf32();
    DevChain d = plan_chain(c, lim, tf32, 3, true);
    const size_t bytes = shared_bytes(d, 3, true);
    float* next = workspace;
    for (int s = 0; s < c.n_steps; ++s) d.s[s].gpre = next, next += c.batch * c.steps[s].n_out;
    d.grad_y = grad_y, d.grad_x = grad_x, d.grad_z = grad_z;
    if (tf32) {
        allow_shared(reinterpret_cast<const void*>(chain_backward_kernel<true>), opted_in[1], lim, bytes);
        chain_backward_kernel<true><<<grid_for(d), kThreads, bytes, as_stream(stream)>>>(d);
    } else {
        allow_shared(reinterpret_cast<const void*>(chain_backward_kernel<false>), opted_in[0], lim, bytes);
        chain_backward_kernel<false><<<grid_for(d), kThreads, bytes, as_stream(stream)>>>(d);
    }
    check_launch("chain_backward_kernel");
    // The weight gradients, each a reduction over the batch.
    for (int s = 0; s < c.n_steps; ++s) {
        const FusedStep& st = c.steps[s];
        const FusedStepGrads& g = grads[s];
        const float* in = d.s[s].in;
        if (!st.generated) {
            dense_weight_grads(stream, c.batch, st, in, d.s[s].gpre, g, next);
        } else if (g.w || g.b || g.c_w || g.c_b) {
            hyper_linear_weight_grads(stream, {c.batch, st.n_in, st.n_out, c.n_cond}, in, c.z, d.s[s].gpre,
                                      {nullptr, nullptr, g.w, g.b, g.c_w, g.c_b}, next);
        }
    }
}

}  // namespace dynrec::cuda
