// Outer-product GEMMs (see outer_gemm.cuh for the math) on the tiled engine
// of tile_gemm.cuh: the A tile is the outer product u[i,p] v[i,q] formed on
// the fly, B the generated-weight regions. Both forms split a long reduction
// into chunks (blockIdx.z) when their output has too few tiles to fill the
// GPU: each chunk writes partial sums into the caller's workspace and a second
// kernel sums them in a fixed order (then applies the epilogue), so results
// are deterministic. Measured on an H200: unsplit, a 4096 x 32 output with a
// 2145-long reduction ran 64 blocks of ~67 latency-bound slices each.
#include "cuda/common.cuh"
#include "cuda/outer_gemm.cuh"
#include "cuda/tile_gemm.cuh"

namespace dynrec::cuda {

namespace {

using tile::kBK;
using tile::kTargetBlocks;
using tile::pick_config;
using tile::TileConfig;
using tile::tile_m;
using tile::tile_n;

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
    static constexpr bool kBKFastest = false;  // W(p, q, n): n is the contiguous index
    static constexpr bool kBatched = false;
    OuterFactors f;
    OuterRegions<const float> w;
    int q_aug_total;  // Q
    __device__ float a(int, int64_t i, int64_t kk) const {
        const int k = static_cast<int>(kk), p = k / q_aug_total, q = k - p * q_aug_total;
        return factor(f.u, i, f.ldu, p, static_cast<int>(f.p_u)) * factor(f.v, i, f.ldv, q, static_cast<int>(f.q_v));
    }
    __device__ float b(int, int64_t kk, int64_t n) const {
        const int k = static_cast<int>(kk), p = k / q_aug_total, q = k - p * q_aug_total;
        return read_region(w, p, q, n, static_cast<int>(f.p_u), static_cast<int>(f.q_v));
    }
};

// Wgrad form: A(r, i) = u'[i, p] v'[i, q] with r = p*Q + q; B(i, n) = w[i, n].
struct WgradTiles {
    static constexpr bool kAKFastest = false;  // neighbours walk q: contiguous in v
    static constexpr bool kBKFastest = false;  // w[i, n]: n is the contiguous index
    static constexpr bool kBatched = false;  // blockIdx.z splits the reduction over rows
    OuterFactors f;
    const float* w;
    int64_t ldw;
    int q_aug_total;
    __device__ float a(int, int64_t r, int64_t i) const {
        const int k = static_cast<int>(r), p = k / q_aug_total, q = k - p * q_aug_total;
        return factor(f.u, i, f.ldu, p, static_cast<int>(f.p_u)) * factor(f.v, i, f.ldv, q, static_cast<int>(f.q_v));
    }
    __device__ float b(int, int64_t i, int64_t n) const { return __ldg(w + i * ldw + n); }
};

__device__ __forceinline__ void store_rows(const RowsEpilogue& e, float* c, int64_t ldc, int64_t m, int64_t n,
                                           float v) {
    float out = activate_dev(e.activation, v);
    if (e.grad_of) out *= activation_grad_dev(e.grad_act, __ldg(e.grad_of + m * ldc + n));
    if (e.accumulate) out += c[m * ldc + n];
    c[m * ldc + n] = out;
}

struct RowsStore {
    float* c;
    int64_t ldc;
    RowsEpilogue e;
    __device__ void operator()(int, int64_t m, int64_t n, float v) const { store_rows(e, c, ldc, m, n, v); }
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

// Sums the split partials of a rows form in order, then applies its epilogue.
__global__ void rows_reduce_kernel(int64_t splits, int64_t rows, int64_t cols, const float* __restrict__ partial,
                                   RowsEpilogue e, float* c, int64_t ldc) {
    DYNREC_CUDA_FOR(el, rows * cols) {
        const int64_t r = el / cols, n = el % cols;
        float s = 0.0f;
        for (int64_t z = 0; z < splits; ++z) s += partial[(z * rows + r) * cols + n];
        store_rows(e, c, ldc, r, n, s);
    }
}

void check_pq(const OuterFactors& f) {
    if (f.p() * f.q() > 0x7fffffff)
        throw Error(DYNREC_ERR_UNSUPPORTED, "outer-product GEMM: (P+1)*(Q+1) must stay below 2^31");
}

struct Split {
    int64_t splits, k_chunk;
};

// Splits a reduction of length k over an m x n_cols output (tiles of the
// engine's 2-D config) when that output has fewer tiles than the GPU runs at
// once: into enough chunks for ~kSplitTargetBlocks blocks, each at least
// kMinChunk long. A function of the shape alone, so workspace sizes are too.
constexpr int64_t kSplitTargetBlocks = 4 * kTargetBlocks;  // ~8 resident 256-thread blocks per SM
constexpr int64_t kMinChunk = 128;

Split split_for(int64_t m, int64_t n_cols, int64_t k) {
    const TileConfig c = pick_config(m, n_cols);
    const int64_t tiles = ((m + tile_m(c) - 1) / tile_m(c)) * ((n_cols + tile_n(c) - 1) / tile_n(c));
    int64_t splits = tiles >= kTargetBlocks || tiles == 0 ? 1 : (kSplitTargetBlocks + tiles - 1) / tiles;
    const int64_t max_splits = (k + kMinChunk - 1) / kMinChunk;
    if (splits > max_splits) splits = max_splits;
    if (splits < 1) splits = 1;
    int64_t k_chunk = (k + splits - 1) / splits;
    k_chunk = k_chunk < 1 ? kBK : (k_chunk + kBK - 1) / kBK * kBK;  // k = 0: one (empty) split, no division by 0
    return {k > 0 ? (k + k_chunk - 1) / k_chunk : 1, k_chunk};
}

}  // namespace

int64_t outer_gemm_rows_workspace_floats(int64_t m, int64_t n_cols, int64_t p, int64_t q) {
    const Split sp = split_for(m, n_cols, p * q);
    return sp.splits > 1 ? sp.splits * m * n_cols : 0;
}

void outer_gemm_rows(void* stream, int64_t m, int64_t n_cols, const OuterFactors& f,
                     const OuterRegions<const float>& w, const RowsEpilogue& epilogue, float* c, int64_t ldc,
                     float* workspace) {
    check_pq(f);
    const int64_t k = f.p() * f.q();
    const RowsTiles tiles{f, w, static_cast<int>(f.q())};
    const Split sp = split_for(m, n_cols, k);
    if (workspace == nullptr || sp.splits == 1) {
        tile::launch(stream, tiles, RowsStore{c, ldc, epilogue}, m, n_cols, k, 1, k);
        return;
    }
    tile::launch(stream, tiles, PartialStore{workspace, m, n_cols}, m, n_cols, k, sp.splits, sp.k_chunk);
    rows_reduce_kernel<<<blocks_for(m * n_cols, 256), 256, 0, as_stream(stream)>>>(sp.splits, m, n_cols, workspace,
                                                                                   epilogue, c, ldc);
    check_launch("rows_reduce_kernel");
}

int64_t outer_gemm_wgrad_workspace_floats(int64_t m, int64_t n_cols, int64_t p, int64_t q) {
    const Split sp = split_for(p * q, n_cols, m);
    return sp.splits > 1 ? sp.splits * p * q * n_cols : 0;
}

void outer_gemm_wgrad(void* stream, int64_t m, int64_t n_cols, const OuterFactors& f, const float* w, int64_t ldw,
                      const OuterRegions<float>& out, float* workspace) {
    check_pq(f);
    const int64_t rows = f.p() * f.q();
    const Split sp = split_for(rows, n_cols, m);
    const WgradTiles tiles{f, w, ldw, static_cast<int>(f.q())};
    if (workspace == nullptr || sp.splits == 1) {
        const RegionStore store{out, static_cast<int>(f.p_u), static_cast<int>(f.q_v), static_cast<int>(f.q())};
        tile::launch(stream, tiles, store, rows, n_cols, m, 1, m);
        return;
    }
    tile::launch(stream, tiles, PartialStore{workspace, rows, n_cols}, rows, n_cols, m, sp.splits, sp.k_chunk);
    wgrad_reduce_kernel<<<blocks_for(rows * n_cols, 256), 256, 0, as_stream(stream)>>>(
        sp.splits, rows, n_cols, workspace, static_cast<int>(f.p_u), static_cast<int>(f.q_v),
        static_cast<int>(f.q()), out);
    check_launch("wgrad_reduce_kernel");
}

}  // namespace dynrec::cuda
