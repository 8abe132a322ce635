// Outer-product GEMM kernels (see outer_gemm.cuh for the math).
//
// One tiled kernel serves both forms: a block computes a BM x BN tile of the
// output, walking the reduction dimension in slices of BK (16, or 32 when few
// blocks share a long reduction and latency dominates). Each slice's A
// tile (the outer product u[i,p] v[i,q], formed on the fly from u and v) and
// B tile are staged in shared memory (the next slice is fetched into
// registers while the current one is multiplied); 256 threads then either
//  - TF32: 8 warps of nvcuda::wmma m16n16k8 TF32 tensor-core MMAs with FP32
//    accumulation (sm_80+), accumulators staged through shared memory for
//    the epilogue; or
//  - exact FP32: each thread a (BM/16) x (BN/16) register tile of FMAs.
// Tile configs: 64x64, 32x64 (more blocks when the grid is small), 64x32
// (narrow outputs such as grad_z). The wgrad form splits the reduction over
// row chunks (blockIdx.z) into a workspace and sums the chunks in a fixed
// order afterwards, so results are deterministic. No alignment is assumed
// for u, v, w or the outputs; all sizes are bounds-checked.
#include <mma.h>

#include "common/math_mode.h"
#include "cuda/common.cuh"
#include "cuda/outer_gemm.cuh"

namespace dynrec::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kBK = 16;  // the shallower slice depth; split-K chunks are multiples of it
constexpr int kPad = 4;  // keeps wmma's 16-byte ldm rule and 32-byte fragment alignment
constexpr int64_t kTargetBlocks = 264;  // ~2 blocks per SM on an H100 (132 SMs)

__device__ __forceinline__ float read_region(const OuterRegions<const float>& w, int p, int q, int64_t n, int p_u,
                                             int q_v) {
    const float* ptr;
    int64_t off;
    if (p < p_u) {
        if (q < q_v) {
            ptr = w.main;
            off = p * w.main_p + q * w.main_q + n * w.main_n;
        } else {
            ptr = w.q_aug;
            off = p * w.q_aug_p + n * w.q_aug_n;
        }
    } else if (q < q_v) {
        ptr = w.p_aug;
        off = q * w.p_aug_q + n * w.p_aug_n;
    } else {
        ptr = w.both;
        off = n * w.both_n;
    }
    return ptr ? __ldg(ptr + off) : 0.0f;
}

__device__ __forceinline__ float factor(const float* m, int64_t row, int64_t ld, int col, int cols) {
    return col < cols ? __ldg(m + row * ld + col) : 1.0f;  // col == cols: the ones column
}

// Rows form: A(i, kk) = u'[i, p] v'[i, q] with kk = p*Q + q; B(kk, n) = W(p, q, n).
struct RowsTiles {
    static constexpr bool kAKFastest = true;  // neighbours share a row of u and v
    OuterFactors f;
    OuterRegions<const float> w;
    int q_aug_total;  // Q
    __device__ float a(int64_t i, int64_t kk) const {
        const int k = static_cast<int>(kk), p = k / q_aug_total, q = k - p * q_aug_total;
        return factor(f.u, i, f.ldu, p, static_cast<int>(f.p_u)) * factor(f.v, i, f.ldv, q, static_cast<int>(f.q_v));
    }
    __device__ float b(int64_t kk, int64_t n) const {
        const int k = static_cast<int>(kk), p = k / q_aug_total, q = k - p * q_aug_total;
        return read_region(w, p, q, n, static_cast<int>(f.p_u), static_cast<int>(f.q_v));
    }
};

// Wgrad form: A(r, i) = u'[i, p] v'[i, q] with r = p*Q + q; B(i, n) = w[i, n].
struct WgradTiles {
    static constexpr bool kAKFastest = false;  // neighbours walk q: contiguous in v
    OuterFactors f;
    const float* w;
    int64_t ldw;
    int q_aug_total;
    __device__ float a(int64_t r, int64_t i) const {
        const int k = static_cast<int>(r), p = k / q_aug_total, q = k - p * q_aug_total;
        return factor(f.u, i, f.ldu, p, static_cast<int>(f.p_u)) * factor(f.v, i, f.ldv, q, static_cast<int>(f.q_v));
    }
    __device__ float b(int64_t i, int64_t n) const { return __ldg(w + i * ldw + n); }
};

struct RowsStore {
    float* c;
    int64_t ldc;
    RowsEpilogue e;
    __device__ void operator()(int, int64_t m, int64_t n, float v) const {
        float out = activate_dev(e.activation, v);
        if (e.grad_of) out *= activation_grad_dev(e.grad_act, __ldg(e.grad_of + m * ldc + n));
        if (e.accumulate) out += c[m * ldc + n];
        c[m * ldc + n] = out;
    }
};

// Scatters D(p, q, n) (row r = p*Q + q) into the output regions (NULL: skipped).
__device__ __forceinline__ void write_region(const OuterRegions<float>& out, int64_t r, int64_t n, int p_u, int q_v,
                                             int q_aug_total, float value) {
    const int p = static_cast<int>(r / q_aug_total), q = static_cast<int>(r % q_aug_total);
    float* ptr;
    int64_t off;
    if (p < p_u) {
        if (q < q_v) {
            ptr = out.main;
            off = p * out.main_p + q * out.main_q + n * out.main_n;
        } else {
            ptr = out.q_aug;
            off = p * out.q_aug_p + n * out.q_aug_n;
        }
    } else if (q < q_v) {
        ptr = out.p_aug;
        off = q * out.p_aug_q + n * out.p_aug_n;
    } else {
        ptr = out.both;
        off = n * out.both_n;
    }
    if (ptr) ptr[off] = value;
}

// Unsplit wgrad: the block's sums are final.
struct RegionStore {
    OuterRegions<float> out;
    int p_u, q_v, q_aug_total;
    __device__ void operator()(int, int64_t m, int64_t n, float v) const {
        write_region(out, m, n, p_u, q_v, q_aug_total, v);
    }
};

struct PartialStore {
    float* partial;
    int64_t rows, cols;
    __device__ void operator()(int split, int64_t m, int64_t n, float v) const {
        partial[(split * rows + m) * cols + n] = v;
    }
};

template <int BM, int BN, int BK, bool TF32, class Tiles, class Store>
__global__ void __launch_bounds__(kThreads)
    outer_tile_kernel(Tiles tiles, Store store, int64_t M, int64_t N, int64_t K, int64_t k_chunk) {
    constexpr int TM = BM / 16, TN = BN / 16;
    __shared__ __align__(32) float As[BK][BM + kPad];  // As[k][m]: A tile, column-major
    __shared__ __align__(32) float Bs[BK][BN + kPad];  // Bs[k][n]: B tile, row-major
    const int tid = static_cast<int>(threadIdx.x);
    const int64_t m0 = int64_t(blockIdx.x) * BM, n0 = int64_t(blockIdx.y) * BN;
    const int64_t k_begin = int64_t(blockIdx.z) * k_chunk;
    const int64_t k_end = k_begin + k_chunk < K ? k_begin + k_chunk : K;

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
    auto fetch = [&](int64_t k0) {
#pragma unroll
        for (int j = 0; j < kAPer; ++j) {
            const int e = tid + j * kThreads;
            const int mm = Tiles::kAKFastest ? e / BK : e % BM;
            const int kk = Tiles::kAKFastest ? e % BK : e / BM;
            const int64_t gm = m0 + mm, gk = k0 + kk;
            ra[j] = (gm < M && gk < k_end) ? tiles.a(gm, gk) : 0.0f;
        }
#pragma unroll
        for (int j = 0; j < kBPer; ++j) {
            const int e = tid + j * kThreads;
            const int nn = e % BN, kk = e / BN;
            const int64_t gn = n0 + nn, gk = k0 + kk;
            rb[j] = (gn < N && gk < k_end) ? tiles.b(gk, gn) : 0.0f;
        }
    };
    auto stage = [&]() {
#pragma unroll
        for (int j = 0; j < kAPer; ++j) {
            const int e = tid + j * kThreads;
            const int mm = Tiles::kAKFastest ? e / BK : e % BM;
            const int kk = Tiles::kAKFastest ? e % BK : e / BM;
            As[kk][mm] = ra[j];
        }
#pragma unroll
        for (int j = 0; j < kBPer; ++j) {
            const int e = tid + j * kThreads;
            Bs[e / BN][e % BN] = rb[j];
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

    const int split = static_cast<int>(blockIdx.z);
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
            if (gm < M && gn < N) store(split, gm, gn, Cs[mm][nn]);
        }
#endif
    } else {
        const int ty = tid / 16, tx = tid % 16;
#pragma unroll
        for (int r = 0; r < TM; ++r)
#pragma unroll
            for (int c = 0; c < TN; ++c) {
                const int64_t gm = m0 + ty * TM + r, gn = n0 + tx * TN + c;
                if (gm < M && gn < N) store(split, gm, gn, acc[r][c]);
            }
    }
}

// Sums the split partials in order and scatters D(p, q, n) into the regions.
__global__ void wgrad_reduce_kernel(int64_t splits, int64_t rows, int64_t cols, const float* __restrict__ partial,
                                    int p_u, int q_v, int q_aug_total, OuterRegions<float> out) {
    DYNREC_CUDA_FOR(e, rows * cols) {
        const int64_t r = e / cols, n = e % cols;
        float s = 0.0f;
        for (int64_t z = 0; z < splits; ++z) s += partial[(z * rows + r) * cols + n];
        write_region(out, r, n, p_u, q_v, q_aug_total, s);
    }
}

enum class TileConfig { k64x64, k32x64, k64x32 };

TileConfig pick_config(int64_t m, int64_t n) {
    if (n <= 32) return TileConfig::k64x32;
    const int64_t blocks = ((m + 63) / 64) * ((n + 63) / 64);
    return blocks < kTargetBlocks ? TileConfig::k32x64 : TileConfig::k64x64;
}

int tile_m(TileConfig c) { return c == TileConfig::k32x64 ? 32 : 64; }
int tile_n(TileConfig c) { return c == TileConfig::k64x32 ? 32 : 64; }

template <int BK, bool TF32, class Tiles, class Store>
void launch_config(cudaStream_t s, TileConfig c, dim3 grid, const Tiles& t, const Store& st, int64_t M, int64_t N,
                   int64_t K, int64_t k_chunk) {
    switch (c) {
        case TileConfig::k64x64:
            outer_tile_kernel<64, 64, BK, TF32><<<grid, kThreads, 0, s>>>(t, st, M, N, K, k_chunk);
            break;
        case TileConfig::k32x64:
            outer_tile_kernel<32, 64, BK, TF32><<<grid, kThreads, 0, s>>>(t, st, M, N, K, k_chunk);
            break;
        case TileConfig::k64x32:
            outer_tile_kernel<64, 32, BK, TF32><<<grid, kThreads, 0, s>>>(t, st, M, N, K, k_chunk);
            break;
    }
}

template <class Tiles, class Store>
void launch(void* stream, const Tiles& t, const Store& st, int64_t M, int64_t N, int64_t K, int64_t splits,
            int64_t k_chunk) {
    const TileConfig c = pick_config(M, N);
    const int64_t gx = (M + tile_m(c) - 1) / tile_m(c), gy = (N + tile_n(c) - 1) / tile_n(c);
    if (gx > 0x7fffffff || gy > 65535 || splits > 65535)
        throw Error(DYNREC_ERR_UNSUPPORTED, "outer-product GEMM: grid too large for one launch");
    const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(splits));
    // Few blocks and a long reduction: latency-bound, so take 32-deep slices
    // (half the load/sync round trips per FLOP); otherwise 16.
    const bool deep = gx * gy * splits < kTargetBlocks && k_chunk >= 256;
    cudaStream_t s = as_stream(stream);
    const bool tf32 = cuda_tf32_enabled() && device_has_tf32();  // below sm_80: the exact-FP32 kernels
    if (deep) {
        if (tf32) launch_config<32, true>(s, c, grid, t, st, M, N, K, k_chunk);
        else launch_config<32, false>(s, c, grid, t, st, M, N, K, k_chunk);
    } else {
        if (tf32) launch_config<16, true>(s, c, grid, t, st, M, N, K, k_chunk);
        else launch_config<16, false>(s, c, grid, t, st, M, N, K, k_chunk);
    }
    check_launch("outer_tile_kernel");
}

void check_pq(const OuterFactors& f) {
    if (f.p() * f.q() > 0x7fffffff)
        throw Error(DYNREC_ERR_UNSUPPORTED, "outer-product GEMM: (P+1)*(Q+1) must stay below 2^31");
}

struct WgradSplit {
    int64_t splits, k_chunk;
};

WgradSplit wgrad_split(int64_t m, int64_t n_cols, int64_t p, int64_t q) {
    const TileConfig c = pick_config(p * q, n_cols);
    const int64_t tiles = ((p * q + tile_m(c) - 1) / tile_m(c)) * ((n_cols + tile_n(c) - 1) / tile_n(c));
    int64_t splits = (kTargetBlocks + tiles - 1) / tiles;
    const int64_t max_splits = (m + 127) / 128;  // at least ~128 rows per split
    if (splits > max_splits) splits = max_splits;
    if (splits < 1) splits = 1;
    int64_t k_chunk = (m + splits - 1) / splits;
    k_chunk = k_chunk < 1 ? kBK : (k_chunk + kBK - 1) / kBK * kBK;  // m = 0: one (empty) split, no division by 0
    return {m > 0 ? (m + k_chunk - 1) / k_chunk : 1, k_chunk};
}

}  // namespace

void outer_gemm_rows(void* stream, int64_t m, int64_t n_cols, const OuterFactors& f,
                     const OuterRegions<const float>& w, const RowsEpilogue& epilogue, float* c, int64_t ldc) {
    check_pq(f);
    const int64_t k = f.p() * f.q();
    const RowsTiles tiles{f, w, static_cast<int>(f.q())};
    launch(stream, tiles, RowsStore{c, ldc, epilogue}, m, n_cols, k, 1, k);
}

int64_t outer_gemm_wgrad_workspace_floats(int64_t m, int64_t n_cols, int64_t p, int64_t q) {
    return wgrad_split(m, n_cols, p, q).splits * p * q * n_cols;
}

void outer_gemm_wgrad(void* stream, int64_t m, int64_t n_cols, const OuterFactors& f, const float* w, int64_t ldw,
                      const OuterRegions<float>& out, float* workspace) {
    check_pq(f);
    const int64_t rows = f.p() * f.q();
    const WgradSplit sp = wgrad_split(m, n_cols, f.p(), f.q());
    const WgradTiles tiles{f, w, ldw, static_cast<int>(f.q())};
    if (workspace == nullptr) {
        const RegionStore store{out, static_cast<int>(f.p_u), static_cast<int>(f.q_v), static_cast<int>(f.q())};
        launch(stream, tiles, store, rows, n_cols, m, 1, m);
        return;
    }
    launch(stream, tiles, PartialStore{workspace, rows, n_cols}, rows, n_cols, m, sp.splits, sp.k_chunk);
    wgrad_reduce_kernel<<<blocks_for(rows * n_cols, 256), 256, 0, as_stream(stream)>>>(
        sp.splits, rows, n_cols, workspace, static_cast<int>(f.p_u), static_cast<int>(f.q_v),
        static_cast<int>(f.q()), out);
    check_launch("wgrad_reduce_kernel");
}

}  // namespace dynrec::cuda
