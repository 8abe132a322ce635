// The tiled GEMM engine shared by the outer-product GEMMs (hyper_linear,
// apg_layer) and the fused dense layers (gate_nu, gated_linear, epnet):
// C(z, m, n) = store(sum_k A(z, m, k) B(z, k, n)), where `Tiles` forms the A
// and B elements on the fly (an outer product, a concat, a gated input...)
// and `Store` is the epilogue (bias, activation, gate, a scatter...), so
// neither operand transform nor epilogue costs its own pass over memory.
//
// A block computes a BM x BN tile of one output, walking the reduction in
// slices of BK (16, or 32 when few blocks share a long reduction and latency
// dominates). Each slice's A and B tiles are staged in shared memory (the
// next slice is fetched into registers while the current one is multiplied);
// 256 threads then either
//  - TF32: 8 warps of nvcuda::wmma m16n16k8 TF32 tensor-core MMAs with FP32
//    accumulation (sm_80+), accumulators staged through shared memory for
//    the epilogue; or
//  - exact FP32: each thread a (BM/16) x (BN/16) register tile of FMAs.
// blockIdx.z is either a split of the reduction (Tiles::kBatched false: the
// store gets the split index, e.g. to write partial sums) or an independent
// problem of a batch (Tiles::kBatched true: e.g. the towers of a layer).
// No alignment is assumed for any operand; all sizes are bounds-checked.
//
// Tiles contract: static constexpr bool kAKFastest (neighbouring A elements
// share m: walk k fastest when loading), kBKFastest (likewise for B: k is the
// contiguous index in memory, as in an nn.Linear weight), kBatched; device
// methods a(z, m, k) and b(z, k, n). Store: operator()(z, m, n, value).
#pragma once

#include <mma.h>

#include <cstdint>

#include "common/math_mode.h"
#include "cuda/common.cuh"

namespace dynrec::cuda::tile {

constexpr int kThreads = 256;
constexpr int kBK = 16;  // the shallower slice depth; split-K chunks are multiples of it
constexpr int kPad = 4;  // keeps wmma's 16-byte ldm rule and 32-byte fragment alignment
constexpr int64_t kTargetBlocks = 264;  // ~2 blocks per SM on an H100 (132 SMs)

template <int BM, int BN, int BK, bool TF32, class Tiles, class Store>
__global__ void __launch_bounds__(kThreads)
    tile_kernel(Tiles tiles, Store store, int64_t M, int64_t N, int64_t K, int64_t k_chunk) {
    constexpr int TM = BM / 16, TN = BN / 16;
    __shared__ __align__(32) float As[BK][BM + kPad];  // As[k][m]: A tile, column-major
    __shared__ __align__(32) float Bs[BK][BN + kPad];  // Bs[k][n]: B tile, row-major
    const int tid = static_cast<int>(threadIdx.x);
    const int z = static_cast<int>(blockIdx.z);
    const int64_t m0 = int64_t(blockIdx.x) * BM, n0 = int64_t(blockIdx.y) * BN;
    const int64_t k_begin = Tiles::kBatched ? 0 : int64_t(z) * k_chunk;
    const int64_t k_end = Tiles::kBatched ? K : (k_begin + k_chunk < K ? k_begin + k_chunk : K);

    float acc[TM][TN];
#pragma unroll
    for (int r = 0; r < TM; ++r)
#pragma unroll
        for (int c = 0; c < TN; ++c) acc[r][c] = 0.0f;
    (void)acc;

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    constexpr int FM = BM / 16, FN = BN / 16, FR = FM * FN / 8;
    static_assert(FM * FN % 8 == 0, "tile must hold a multiple of 8 fragments");
    const int warp = tid / 32, fm = warp % FM;
    nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 8, float> cf[FR];
    if constexpr (TF32) {
#pragma unroll
        for (int f = 0; f < FR; ++f) nvcuda::wmma::fill_fragment(cf[f], 0.0f);
    }
#endif

    // Software pipelining: the next slice's elements are fetched into
    // registers while the tensor cores / FMAs work on the current one.
    constexpr int kAPer = BM * BK / kThreads, kBPer = BK * BN / kThreads;
    static_assert(BM * BK % kThreads == 0 && BK * BN % kThreads == 0, "tile loads must split evenly");
    float ra[kAPer], rb[kBPer];
    auto a_index = [](int e, int& mm, int& kk) {
        mm = Tiles::kAKFastest ? e / BK : e % BM;
        kk = Tiles::kAKFastest ? e % BK : e / BM;
    };
    auto b_index = [](int e, int& kk, int& nn) {
        nn = Tiles::kBKFastest ? e / BK : e % BN;
        kk = Tiles::kBKFastest ? e % BK : e / BN;
    };
    auto fetch = [&](int64_t k0) {
#pragma unroll
        for (int j = 0; j < kAPer; ++j) {
            int mm, kk;
            a_index(tid + j * kThreads, mm, kk);
            const int64_t gm = m0 + mm, gk = k0 + kk;
            ra[j] = (gm < M && gk < k_end) ? tiles.a(z, gm, gk) : 0.0f;
        }
#pragma unroll
        for (int j = 0; j < kBPer; ++j) {
            int kk, nn;
            b_index(tid + j * kThreads, kk, nn);
            const int64_t gn = n0 + nn, gk = k0 + kk;
            rb[j] = (gn < N && gk < k_end) ? tiles.b(z, gk, gn) : 0.0f;
        }
    };
    auto stage = [&]() {
#pragma unroll
        for (int j = 0; j < kAPer; ++j) {
            int mm, kk;
            a_index(tid + j * kThreads, mm, kk);
            As[kk][mm] = ra[j];
        }
#pragma unroll
        for (int j = 0; j < kBPer; ++j) {
            int kk, nn;
            b_index(tid + j * kThreads, kk, nn);
            Bs[kk][nn] = rb[j];
        }
    };

    if (k_begin < k_end) fetch(k_begin);
    for (int64_t k0 = k_begin; k0 < k_end; k0 += BK) {
        stage();
        __syncthreads();
        if (k0 + BK < k_end) fetch(k0 + BK);
        if constexpr (TF32) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
            using namespace nvcuda;
#pragma unroll
            for (int ks = 0; ks < BK; ks += 8) {
                wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::col_major> af;
                wmma::load_matrix_sync(af, &As[ks][fm * 16], BM + kPad);
#pragma unroll
                for (int t = 0; t < af.num_elements; ++t) af.x[t] = wmma::__float_to_tf32(af.x[t]);
#pragma unroll
                for (int f = 0; f < FR; ++f) {
                    const int fn = (warp / FM) * FR + f;
                    wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> bf;
                    wmma::load_matrix_sync(bf, &Bs[ks][fn * 16], BN + kPad);
#pragma unroll
                    for (int t = 0; t < bf.num_elements; ++t) bf.x[t] = wmma::__float_to_tf32(bf.x[t]);
                    wmma::mma_sync(cf[f], af, bf, cf[f]);
                }
            }
#endif
        } else {
            const int ty = tid / 16, tx = tid % 16;
#pragma unroll
            for (int kk = 0; kk < BK; ++kk) {
                float a[TM], b[TN];
#pragma unroll
                for (int r = 0; r < TM; ++r) a[r] = As[kk][ty * TM + r];
#pragma unroll
                for (int c = 0; c < TN; ++c) b[c] = Bs[kk][tx * TN + c];
#pragma unroll
                for (int r = 0; r < TM; ++r)
#pragma unroll
                    for (int c = 0; c < TN; ++c) acc[r][c] = fmaf(a[r], b[c], acc[r][c]);
            }
        }
        __syncthreads();
    }

    if constexpr (TF32) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
        __shared__ __align__(32) float Cs[BM][BN + kPad];
#pragma unroll
        for (int f = 0; f < FR; ++f) {
            const int fn = (warp / FM) * FR + f;
            nvcuda::wmma::store_matrix_sync(&Cs[fm * 16][fn * 16], cf[f], BN + kPad, nvcuda::wmma::mem_row_major);
        }
        __syncthreads();
        for (int e = tid; e < BM * BN; e += kThreads) {
            const int mm = e / BN, nn = e % BN;
            const int64_t gm = m0 + mm, gn = n0 + nn;
            if (gm < M && gn < N) store(z, gm, gn, Cs[mm][nn]);
        }
#endif
    } else {
        const int ty = tid / 16, tx = tid % 16;
#pragma unroll
        for (int r = 0; r < TM; ++r)
#pragma unroll
            for (int c = 0; c < TN; ++c) {
                const int64_t gm = m0 + ty * TM + r, gn = n0 + tx * TN + c;
                if (gm < M && gn < N) store(z, gm, gn, acc[r][c]);
            }
    }
}

enum class TileConfig { k64x64, k32x64, k64x32 };

// 64x32 for narrow outputs (grad_z, small layers); 32x64 when 64x64 tiles
// would leave the GPU short of blocks; else 64x64.
inline TileConfig pick_config(int64_t m, int64_t n, int64_t z = 1) {
    if (n <= 32) return TileConfig::k64x32;
    const int64_t blocks = ((m + 63) / 64) * ((n + 63) / 64) * z;
    return blocks < kTargetBlocks ? TileConfig::k32x64 : TileConfig::k64x64;
}

inline int tile_m(TileConfig c) { return c == TileConfig::k32x64 ? 32 : 64; }
inline int tile_n(TileConfig c) { return c == TileConfig::k64x32 ? 32 : 64; }

template <int BK, bool TF32, class Tiles, class Store>
void launch_config(cudaStream_t s, TileConfig c, dim3 grid, const Tiles& t, const Store& st, int64_t M, int64_t N,
                   int64_t K, int64_t k_chunk) {
    switch (c) {
        case TileConfig::k64x64:
            tile_kernel<64, 64, BK, TF32><<<grid, kThreads, 0, s>>>(t, st, M, N, K, k_chunk);
            break;
        case TileConfig::k32x64:
            tile_kernel<32, 64, BK, TF32><<<grid, kThreads, 0, s>>>(t, st, M, N, K, k_chunk);
            break;
        case TileConfig::k64x32:
            tile_kernel<64, 32, BK, TF32><<<grid, kThreads, 0, s>>>(t, st, M, N, K, k_chunk);
            break;
    }
}

// Launches the engine over an M x N output with reduction K; `z` is the
// number of splits of K (chunks of k_chunk) or, for batched Tiles, of problems.
template <class Tiles, class Store>
void launch(void* stream, const Tiles& t, const Store& st, int64_t M, int64_t N, int64_t K, int64_t z,
            int64_t k_chunk) {
    const TileConfig c = pick_config(M, N, Tiles::kBatched ? z : 1);  // split-K sizes its splits to the 2-D grid
    const int64_t gx = (M + tile_m(c) - 1) / tile_m(c), gy = (N + tile_n(c) - 1) / tile_n(c);
    if (gx > 0x7fffffff || gy > 65535 || z > 65535)
        throw Error(DYNREC_ERR_UNSUPPORTED, "tiled GEMM: grid too large for one launch");
    if (gx == 0 || gy == 0 || z == 0) return;  // an empty output: nothing to launch
    const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(z));
    // Few blocks and a long reduction: latency-bound, so take 32-deep slices
    // (half the load/sync round trips per FLOP); otherwise 16.
    const bool deep = gx * gy * z < kTargetBlocks && k_chunk >= 256;
    cudaStream_t s = as_stream(stream);
    const bool tf32 = cuda_tf32_enabled() && device_has_tf32();  // below sm_80: the exact-FP32 kernels
    if (deep) {
        if (tf32) launch_config<32, true>(s, c, grid, t, st, M, N, K, k_chunk);
        else launch_config<32, false>(s, c, grid, t, st, M, N, K, k_chunk);
    } else {
        if (tf32) launch_config<16, true>(s, c, grid, t, st, M, N, K, k_chunk);
        else launch_config<16, false>(s, c, grid, t, st, M, N, K, k_chunk);
    }
    check_launch("tile_kernel");
}

}  // namespace dynrec::cuda::tile
