// Fused dense forward (see fused_dense.cuh): the tiled engine with a Tiles
// that reads x (or a concat, or a gated x) and an nn.Linear weight, and a
// Store that applies bias, activation or gamma*sigmoid and the output gate.
#include "cuda/common.cuh"
#include "cuda/fused_dense.cuh"
#include "cuda/tile_gemm.cuh"

namespace dynrec::cuda {

namespace {

struct DenseTiles {
    static constexpr bool kAKFastest = true;  // x rows: k is contiguous
    static constexpr bool kBKFastest = true;  // W[n, k]: k is contiguous
    static constexpr bool kBatched = true;    // blockIdx.z = tower
    FusedDenseInput in;
    FusedDenseWeight w;
    int64_t k_total;
    __device__ float a(int t, int64_t i, int64_t k) const {
        float v = k < in.k_split || in.x2 == nullptr ? __ldg(in.x + t * in.x_tower_stride + i * in.ldx + k)
                                                     : __ldg(in.x2 + i * in.ldx2 + (k - in.k_split));
        if (in.in_gate) v *= __ldg(in.in_gate + i * in.ld_in_gate + t * k_total + k);
        return v;
    }
    __device__ float b(int t, int64_t k, int64_t n) const { return __ldg(w.w + t * w.tower_stride + n * w.ldw + k); }
};

struct DenseStore {
    FusedDenseEpilogue e;
    const float* bias;
    float* y;
    int64_t ldy, m_total, n_total;
    __device__ void operator()(int t, int64_t i, int64_t n, float v) const {
        const float s = v + (bias ? __ldg(bias + t * n_total + n) : 0.0f);
        // __expf as the elementwise-kernel path does: the two paths differ only by GEMM rounding.
        const float a = e.gate_output ? e.gamma / (1.0f + __expf(-s)) : activate_dev(e.activation, s);
        const int64_t row = t * m_total + i;
        if (e.act_out) e.act_out[row * n_total + n] = a;
        y[row * ldy + n] = e.out_gate ? a * __ldg(e.out_gate + i * e.ld_out_gate + t * n_total + n) : a;
    }
};

}  // namespace

void fused_dense_forward(void* stream, int64_t towers, int64_t m, int64_t n, int64_t k, const FusedDenseInput& in,
                         const FusedDenseWeight& w, const FusedDenseEpilogue& e, float* y, int64_t ldy) {
    const DenseTiles tiles{in, w, k};
    const DenseStore store{e, w.bias, y, ldy, m, n};
    tile::launch(stream, tiles, store, m, n, k, towers, k);
}

}  // namespace dynrec::cuda
