// The fused chain's in-block building blocks, used by both of its kernels:
// an in-block GEMM over a block's rows (its reduction staged through shared
// memory), row loads and stores between global and shared memory, and the
// tiles of a generated step's S_r = reshape(z_r g_w^T) + g_b, formed 256
// entries at a time, in exact FP32 or on the TF32 tensor cores.
#pragma once

#include <mma.h>

#include "cuda/fused_chain_layout.cuh"

namespace dynrec::cuda::fused {

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
__device__ inline void load_rows(float* dst, int ld, const float* __restrict__ src, int n, int R, int rows, int64_t row0,
                          int width = 0) {
    const int w = width > n ? width : n;
    for (int e = static_cast<int>(threadIdx.x); e < R * w; e += kThreads) {
        const int r = e / w, c = e % w;
        dst[r * ld + c] = r < rows && c < n ? __ldg(src + (row0 + r) * n + c) : 0.0f;
    }
}

// The block's z rows as the chain lays them out (z_rows x z_cols, zeros past the batch and n_cond).
__device__ inline void load_z_rows(const DevChain& c, float* zs, int rows, int64_t row0) {
    load_rows(zs, c.ldz, c.z, c.n_cond, c.z_rows, rows, row0, c.z_cols);
}

// dst rows row0 + r (r < rows) = src[r, :n], optionally added to.
__device__ inline void store_rows(float* dst, const float* src, int ld, int n, int rows, int64_t row0, bool add = false) {
    for (int e = static_cast<int>(threadIdx.x); e < rows * n; e += kThreads) {
        const int r = e / n, c = e % n;
        float* d = dst + (row0 + r) * n + c;
        *d = add ? *d + src[r * ld + c] : src[r * ld + c];
    }
}

// One S_r tile in exact FP32: stage[r * kSLd + jj] = (S_r + g_b)[j0 + jj] for r < R.
__device__ inline void s_tile_fp32(const DevStep& st, int R, const float* zs, int ldz, int n_cond, int j0, float* stage) {
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
__device__ inline void s_tile_tf32(const DevStep& st, int R, const float* zs, int ldz, int n_cond, int j0, float* stage) {
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

}  // namespace dynrec::cuda::fused
