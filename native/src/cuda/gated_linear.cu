// gated_linear on CUDA: all T towers in one launch per step.
//   forward, fused epilogues (the default): one launch of our tiled GEMM over
//             the T towers (blockIdx.z), the INPUT gate applied as x is read,
//             bias, activation, act_out and the OUTPUT gate as y is stored.
//   forward otherwise: [INPUT gate] xg = delta_t * x_t for every tower (one kernel);
//             y_t = x_t W_t^T (one cublasSgemmStridedBatched; x stride 0 when
//             shared); bias + activation (+ act_out, + OUTPUT gate) for every
//             tower in one epilogue kernel.
//   backward: gpre = dL/d(pre-activation) as [batch, T*n_out] (one kernel, also
//             grad_delta for the OUTPUT gate); grad_b = deterministic column
//             sums; grad_w and grad_x / the INPUT gate's input gradient as
//             strided-batched GEMMs (gpre_t is a column block of gpre: ld =
//             T*n_out); the INPUT gate's grad_x / grad_delta in one kernel
//             (with shared x the T towers are summed in a fixed order).
// Elementwise kernels: grid-stride, one thread per element.
#include "common/math_mode.h"
#include "cuda/common.cuh"
#include "cuda/fused_dense.cuh"
#include "cuda/gated_linear.cuh"

namespace dynrec::cuda {

namespace {

constexpr int kThreads = 256;

// xg[t, i, p] = x_t[i, p] * delta[i, t*n_in + p]
__global__ void gate_input_kernel(int64_t towers, int64_t rows, int64_t n_in, const float* __restrict__ x,
                                  int64_t x_stride, const float* __restrict__ delta, float* __restrict__ xg) {
    const int64_t per = rows * n_in, ldd = towers * n_in;
    DYNREC_CUDA_FOR(e, towers * per) {
        const int64_t t = e / per, r = e % per, i = r / n_in, p = r % n_in;
        xg[e] = x[t * x_stride + r] * delta[i * ldd + t * n_in + p];
    }
}

// y = act(y + b_t); act_out = that; OUTPUT gate: y *= delta[i, t*n_out + o].
__global__ void forward_epilogue_kernel(int64_t towers, int64_t rows, int64_t n_out, int32_t act,
                                        const float* __restrict__ b, const float* __restrict__ delta,
                                        int32_t output_gate, float* __restrict__ act_out, float* __restrict__ y) {
    const int64_t per = rows * n_out, ldd = towers * n_out;
    DYNREC_CUDA_FOR(e, towers * per) {
        const int64_t t = e / per, r = e % per, i = r / n_out, o = r % n_out;
        const float a = activate_dev(act, y[e] + (b ? b[t * n_out + o] : 0.0f));
        if (act_out) act_out[e] = a;
        y[e] = output_gate ? delta[i * ldd + t * n_out + o] * a : a;
    }
}

// gpre [batch, towers*n_out] from grad_y / act_out [towers, batch, n_out].
__global__ void gpre_kernel(int64_t towers, int64_t batch, int64_t n_out, int32_t act, int32_t output_gate,
                            const float* __restrict__ act_out, const float* __restrict__ grad_y,
                            const float* __restrict__ delta, float* __restrict__ grad_delta,
                            float* __restrict__ gpre) {
    const int64_t ldg = towers * n_out;
    DYNREC_CUDA_FOR(e, batch * ldg) {
        const int64_t i = e / ldg, col = e % ldg, t = col / n_out, o = col % n_out;
        const int64_t src = (t * batch + i) * n_out + o;
        const float a = act_out[src], gy = grad_y[src];
        float g = gy;
        if (output_gate) {
            if (grad_delta) grad_delta[e] = gy * a;
            g = gy * delta[e];
        }
        gpre[e] = g * activation_grad_dev(act, a);
    }
}

// INPUT gate, from gxin[t, i, p] = dL/d(delta_t * x_t):
//   grad_delta[i, t*n_in + p] = gxin * x_t;  grad_x_t = gxin * delta_t, or with
//   shared x grad_x = sum_t gxin_t * delta_t (towers in order).
__global__ void input_gate_grad_kernel(int64_t towers, int64_t rows, int64_t n_in, const float* __restrict__ gxin,
                                       const float* __restrict__ x, int32_t x_shared,
                                       const float* __restrict__ delta, float* __restrict__ grad_x,
                                       float* __restrict__ grad_delta) {
    const int64_t per = rows * n_in, ldd = towers * n_in;
    if (x_shared) {
        DYNREC_CUDA_FOR(r, per) {
            const int64_t i = r / n_in, p = r % n_in;
            float acc = 0.0f;
            for (int64_t t = 0; t < towers; ++t) {
                const float g = gxin[t * per + r];
                const int64_t dc = i * ldd + t * n_in + p;
                acc += g * delta[dc];
                if (grad_delta) grad_delta[dc] = g * x[r];
            }
            if (grad_x) grad_x[r] = acc;
        }
        return;
    }
    DYNREC_CUDA_FOR(e, towers * per) {
        const int64_t t = e / per, r = e % per, i = r / n_in, p = r % n_in, dc = i * ldd + t * n_in + p;
        const float g = gxin[e];
        if (grad_x) grad_x[e] = g * delta[dc];
        if (grad_delta) grad_delta[dc] = g * x[e];
    }
}

}  // namespace

int64_t gated_linear_workspace_bytes(const GatedLinearShape& s) {
    // gpre [batch, T*n_out]; INPUT gate: xg and gxin, [T, batch, n_in] each.
    const int64_t floats =
        s.batch * s.towers * s.n_out + (s.output_gate() ? 0 : 2 * s.towers * s.batch * s.n_in);
    return static_cast<int64_t>(sizeof(float)) * floats;
}

void gated_linear_forward(void* stream, const GatedLinearShape& s, const float* x, const float* w, const float* b,
                          const float* delta, float* act_out, float* y, void* workspace) {
    const int64_t B = s.batch, ni = s.n_in, no = s.n_out, T = s.towers;
    if (cuda_fused_epilogues_enabled()) {
        FusedDenseInput in{x, ni, s.x_tower_stride()};
        FusedDenseEpilogue e;
        e.activation = s.activation;
        e.act_out = act_out;
        if (s.output_gate()) {
            e.out_gate = delta;
            e.ld_out_gate = T * no;
        } else {
            in.in_gate = delta;
            in.ld_in_gate = T * ni;
        }
        fused_dense_forward(stream, T, B, no, ni, in, {w, ni, no * ni, b}, e, y, no);
        return;
    }
    cudaStream_t st = as_stream(stream);
    const float* a = x;
    int64_t a_stride = s.x_tower_stride();
    if (!s.output_gate()) {
        float* xg = static_cast<float*>(workspace) + B * T * no;  // the backward's layout, unused gpre slot first
        gate_input_kernel<<<blocks_for(T * B * ni, kThreads), kThreads, 0, st>>>(T, B, ni, x, s.x_tower_stride(),
                                                                                delta, xg);
        check_launch("gate_input_kernel");
        a = xg;
        a_stride = B * ni;
    }
    sgemm_strided_batched(stream, false, true, B, no, ni, 1.0f, a, ni, a_stride, w, ni, no * ni, 0.0f, y, no, B * no,
                          T);
    forward_epilogue_kernel<<<blocks_for(T * B * no, kThreads), kThreads, 0, st>>>(
        T, B, no, s.activation, b, delta, s.output_gate() ? 1 : 0, act_out, y);
    check_launch("forward_epilogue_kernel");
}

void gated_linear_backward(void* stream, const GatedLinearShape& s, const float* x, const float* w,
                           const float* delta, const float* act_out, const float* grad_y, float* grad_x,
                           float* grad_w, float* grad_b, float* grad_delta, void* workspace) {
    cudaStream_t st = as_stream(stream);
    const int64_t B = s.batch, ni = s.n_in, no = s.n_out, T = s.towers, ldg = T * no;
    float* gpre = static_cast<float*>(workspace);
    float* xg = gpre + B * ldg;     // INPUT gate only: [T, B, n_in]
    float* gxin = xg + T * B * ni;  // INPUT gate only: [T, B, n_in]
    gpre_kernel<<<blocks_for(B * ldg, kThreads), kThreads, 0, st>>>(T, B, no, s.activation, s.output_gate() ? 1 : 0,
                                                                    act_out, grad_y, delta,
                                                                    s.output_gate() ? grad_delta : nullptr, gpre);
    check_launch("gpre_kernel");
    if (grad_b) column_sums(stream, B, ldg, gpre, grad_b);

    if (grad_w) {
        if (s.output_gate() && s.x_shared) {
            // Every tower reads the same x: one GEMM over the stacked [T*n_out] rows.
            sgemm(stream, true, false, ldg, ni, B, 1.0f, gpre, ldg, x, ni, 0.0f, grad_w, ni);
        } else {
            const float* xin = x;
            int64_t xin_stride = s.x_tower_stride();
            if (!s.output_gate()) {
                gate_input_kernel<<<blocks_for(T * B * ni, kThreads), kThreads, 0, st>>>(T, B, ni, x,
                                                                                        s.x_tower_stride(), delta, xg);
                check_launch("gate_input_kernel");
                xin = xg;
                xin_stride = B * ni;
            }
            sgemm_strided_batched(stream, true, false, no, ni, B, 1.0f, gpre, ldg, no, xin, ni, xin_stride, 0.0f,
                                  grad_w, ni, no * ni, T);
        }
    }

    if (s.output_gate()) {
        if (!grad_x) return;
        if (s.x_shared)
            sgemm(stream, false, false, B, ni, ldg, 1.0f, gpre, ldg, w, ni, 0.0f, grad_x, ni);
        else
            sgemm_strided_batched(stream, false, false, B, ni, no, 1.0f, gpre, ldg, no, w, ni, no * ni, 0.0f, grad_x,
                                  ni, B * ni, T);
        return;
    }
    if (!grad_x && !grad_delta) return;
    sgemm_strided_batched(stream, false, false, B, ni, no, 1.0f, gpre, ldg, no, w, ni, no * ni, 0.0f, gxin, ni,
                          B * ni, T);
    const int64_t threads_for = s.x_shared ? B * ni : T * B * ni;
    input_gate_grad_kernel<<<blocks_for(threads_for, kThreads), kThreads, 0, st>>>(
        T, B, ni, gxin, x, s.x_shared ? 1 : 0, delta, grad_x, grad_delta);
    check_launch("input_gate_grad_kernel");
}

}  // namespace dynrec::cuda
