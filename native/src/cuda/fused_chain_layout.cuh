// The fused chain's internals shared by its host code and its two kernels
// (fused_chain.cu plans and launches, fused_chain_forward.cu and
// fused_chain_backward.cu hold the kernels): the sizes it is built for, the
// chain as the kernels see it, and where each buffer sits in a block's
// shared memory (one function, used by the host for the launch's bytes and
// by the kernels for the buffers' starts, so the two cannot disagree).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "cuda/common.cuh"
#include "cuda/fused_chain.cuh"

namespace dynrec::cuda::fused {

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

// The current device's SM count and shared memory a block may opt into (asked once per device).
struct DeviceLimits {
    int device, sms;
    size_t shared_optin;
};

// Lets `kernel` use up to the budget on this device (once per device and kernel: `done`).
void allow_shared(const void* kernel, std::atomic<bool>* done, const DeviceLimits& lim, size_t bytes);

// A kernel launch as planned on the host: the grid covers the batch d.rows at a time; `tf32` picks
// the tensor-core variant (sm_80+).
struct ChainLaunch {
    cudaStream_t stream;
    DeviceLimits limits;
    size_t shared_bytes;
    bool tf32;
};

// Every step's output rows (fused_chain_forward.cu).
void launch_chain_forward(const ChainLaunch& launch, const DevChain& d);

// Every step's pre-activation gradient, grad_x and grad_z (fused_chain_backward.cu).
void launch_chain_backward(const ChainLaunch& launch, const DevChain& d);

inline unsigned grid_for(const DevChain& d) { return static_cast<unsigned>((d.batch + d.rows - 1) / d.rows); }

}  // namespace dynrec::cuda::fused
