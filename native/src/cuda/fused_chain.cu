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
// The kernels are in fused_chain_forward.cu and fused_chain_backward.cu,
// their shared pieces in fused_chain_layout.cuh / fused_chain_tiles.cuh; this
// file plans a chain for the device (rows per block, shared memory) and
// launches them, then the weight-gradient GEMMs.
#include <algorithm>
#include <atomic>

#include "common/math_mode.h"
#include "cuda/common.cuh"
#include "cuda/fused_chain.cuh"
#include "cuda/fused_chain_layout.cuh"
#include "cuda/hyper_linear.cuh"
#include "cuda/outer_gemm.cuh"

namespace dynrec::cuda {

namespace fused {

void allow_shared(const void* kernel, std::atomic<bool>* done, const DeviceLimits& lim, size_t bytes) {
    if (bytes <= kDefaultShared || lim.device < 0 || lim.device >= kMaxDevices) return;
    if (done[lim.device].load(std::memory_order_acquire)) return;
    const int budget = static_cast<int>(std::min(kSharedBudget, lim.shared_optin));
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, budget),
          "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)");
    done[lim.device].store(true, std::memory_order_release);
}

}  // namespace fused

namespace {

using namespace fused;

int64_t widest(const FusedChain& c) {
    int64_t w = c.steps[0].n_in;
    for (int s = 0; s < c.n_steps; ++s) w = std::max(w, c.steps[s].n_out);
    return w;
}

// The current device's limits, asked once per device.
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

// Tensor cores for the generated steps' big contractions when TF32 is on and the GPU has them.
bool use_tf32() { return cuda_tf32_enabled() && device_has_tf32(); }

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
    const DeviceLimits lim = device_limits();
    const bool tf32 = use_tf32();
    const DevChain d = plan_chain(c, lim, tf32, 2, false);
    launch_chain_forward({as_stream(stream), lim, shared_bytes(d, 2, false), tf32}, d);
}

void fused_chain_backward(void* stream, const FusedChain& c, const float* grad_y, float* grad_x, float* grad_z,
                          const FusedStepGrads* grads, float* workspace) {
    const DeviceLimits lim = device_limits();
    const bool tf32 = use_tf32();
    DevChain d = plan_chain(c, lim, tf32, 3, true);
    float* next = workspace;
    for (int s = 0; s < c.n_steps; ++s) d.s[s].gpre = next, next += c.batch * c.steps[s].n_out;
    d.grad_y = grad_y, d.grad_x = grad_x, d.grad_z = grad_z;
    launch_chain_backward({as_stream(stream), lim, shared_bytes(d, 3, true), tf32}, d);
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
