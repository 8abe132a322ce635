// gated_linear on CUDA: per tower one cuBLAS SGEMM plus elementwise kernels
// (grid-stride, one thread per element): the INPUT gate forms delta_t * x_t
// in the workspace first; bias + activation (+ act_out, + OUTPUT gate) is one
// epilogue kernel. Backward forms gpre = dL/d(pre-activation) as [batch,
// towers*n_out] in the workspace, then GEMMs for grad_w / grad_x (one
// K = towers*n_out GEMM when x is shared) and deterministic column sums for
// grad_b. Straightforward by design; the CPU path is the tuned one.
#include "cuda/common.cuh"
#include "cuda/gated_linear.cuh"

namespace dynrec::cuda {

namespace {

constexpr int kThreads = 256;

// xg[i, p] = x[i, p] * delta[i, col0 + p]
__global__ void gate_input_kernel(int64_t rows, int64_t n_in, const float* __restrict__ x,
                                  const float* __restrict__ delta, int64_t ldd, int64_t col0,
                                  float* __restrict__ xg) {
    DYNREC_CUDA_FOR(e, rows * n_in) {
        const int64_t i = e / n_in, p = e % n_in;
        xg[e] = x[e] * delta[i * ldd + col0 + p];
    }
}

// y = act(y + b); act_out = that; OUTPUT gate: y *= delta[i, col0 + o].
__global__ void forward_epilogue_kernel(int64_t rows, int64_t n_out, int32_t act, const float* __restrict__ b,
                                        const float* __restrict__ delta, int64_t ldd, int64_t col0,
                                        int32_t output_gate, float* __restrict__ act_out, float* __restrict__ y) {
    DYNREC_CUDA_FOR(e, rows * n_out) {
        const int64_t i = e / n_out, o = e % n_out;
        const float a = activate_dev(act, y[e] + (b ? b[o] : 0.0f));
        if (act_out) act_out[e] = a;
        y[e] = output_gate ? delta[i * ldd + col0 + o] * a : a;
    }
}

// gpre [batch, towers*n_out] from grad_y / act_out [towers, batch, n_out].
__global__ void gpre_kernel(int64_t towers, int64_t batch, int64_t n_out, int32_t act, int32_t output_gate,
                            const float* __restrict__ act_out, const float* __restrict__ grad_y,
                            const float* __restrict__ delta, int64_t ldd, float* __restrict__ grad_delta,
                            float* __restrict__ gpre) {
    const int64_t ldg = towers * n_out;
    DYNREC_CUDA_FOR(e, batch * ldg) {
        const int64_t i = e / ldg, col = e % ldg, t = col / n_out, o = col % n_out;
        const int64_t src = (t * batch + i) * n_out + o;
        const float a = act_out[src], gy = grad_y[src];
        float g = gy;
        if (output_gate) {
            if (grad_delta) grad_delta[i * ldd + col] = gy * a;
            g = gy * delta[i * ldd + col];
        }
        gpre[e] = g * activation_grad_dev(act, a);
    }
}

// INPUT gate: grad_x (+)= gxin * delta_t, grad_delta_t = gxin * x_t.
__global__ void input_gate_grad_kernel(int64_t rows, int64_t n_in, const float* __restrict__ gxin,
                                       const float* __restrict__ x, const float* __restrict__ delta, int64_t ldd,
                                       int64_t col0, int32_t accumulate, float* __restrict__ grad_x,
                                       float* __restrict__ grad_delta) {
    DYNREC_CUDA_FOR(e, rows * n_in) {
        const int64_t i = e / n_in, p = e % n_in, dc = i * ldd + col0 + p;
        const float g = gxin[e];
        if (grad_x) grad_x[e] = accumulate ? grad_x[e] + g * delta[dc] : g * delta[dc];
        if (grad_delta) grad_delta[dc] = g * x[e];
    }
}

}  // namespace

int64_t gated_linear_workspace_bytes(const GatedLinearShape& s) {
    const int64_t floats = s.batch * s.towers * s.n_out + (s.output_gate() ? 0 : 2 * s.batch * s.n_in);
    return static_cast<int64_t>(sizeof(float)) * floats;
}

void gated_linear_forward(void* stream, const GatedLinearShape& s, const float* x, const float* w, const float* b,
                          const float* delta, float* act_out, float* y, void* workspace) {
    cudaStream_t st = as_stream(stream);
    const int64_t B = s.batch, ni = s.n_in, no = s.n_out, dc = s.delta_cols();
    float* xg = static_cast<float*>(workspace);
    for (int64_t t = 0; t < s.towers; ++t) {
        const float* a = x + t * s.x_tower_stride();
        if (!s.output_gate()) {
            gate_input_kernel<<<blocks_for(B * ni, kThreads), kThreads, 0, st>>>(B, ni, a, delta, dc, t * ni, xg);
            check_launch("gate_input_kernel");
            a = xg;
        }
        float* yt = y + t * B * no;
        sgemm(stream, false, true, B, no, ni, 1.0f, a, ni, w + t * no * ni, ni, 0.0f, yt, no);
        forward_epilogue_kernel<<<blocks_for(B * no, kThreads), kThreads, 0, st>>>(
            B, no, s.activation, b ? b + t * no : nullptr, delta, dc, t * no, s.output_gate() ? 1 : 0,
            act_out ? act_out + t * B * no : nullptr, yt);
        check_launch("forward_epilogue_kernel");
    }
}

void gated_linear_backward(void* stream, const GatedLinearShape& s, const float* x, const float* w,
                           const float* delta, const float* act_out, const float* grad_y, float* grad_x,
                           float* grad_w, float* grad_b, float* grad_delta, void* workspace) {
    cudaStream_t st = as_stream(stream);
    const int64_t B = s.batch, ni = s.n_in, no = s.n_out, T = s.towers, dc = s.delta_cols(), ldg = T * no;
    float* gpre = static_cast<float*>(workspace);
    float* xg = gpre + B * ldg;   // INPUT gate only
    float* gxin = xg + B * ni;    // INPUT gate only
    gpre_kernel<<<blocks_for(B * ldg, kThreads), kThreads, 0, st>>>(T, B, no, s.activation, s.output_gate() ? 1 : 0,
                                                                    act_out, grad_y, delta, dc,
                                                                    s.output_gate() ? grad_delta : nullptr, gpre);
    check_launch("gpre_kernel");
    if (grad_b) column_sums(stream, B, ldg, gpre, grad_b);

    if (grad_w) {
        if (s.output_gate() && s.x_shared) {
            sgemm(stream, true, false, ldg, ni, B, 1.0f, gpre, ldg, x, ni, 0.0f, grad_w, ni);
        } else {
            for (int64_t t = 0; t < T; ++t) {
                const float* xin = x + t * s.x_tower_stride();
                if (!s.output_gate()) {
                    gate_input_kernel<<<blocks_for(B * ni, kThreads), kThreads, 0, st>>>(B, ni, xin, delta, dc,
                                                                                        t * ni, xg);
                    check_launch("gate_input_kernel");
                    xin = xg;
                }
                sgemm(stream, true, false, no, ni, B, 1.0f, gpre + t * no, ldg, xin, ni, 0.0f, grad_w + t * no * ni,
                      ni);
            }
        }
    }

    if (s.output_gate()) {
        if (!grad_x) return;
        if (s.x_shared) {
            sgemm(stream, false, false, B, ni, ldg, 1.0f, gpre, ldg, w, ni, 0.0f, grad_x, ni);
        } else {
            for (int64_t t = 0; t < T; ++t)
                sgemm(stream, false, false, B, ni, no, 1.0f, gpre + t * no, ldg, w + t * no * ni, ni, 0.0f,
                      grad_x + t * B * ni, ni);
        }
        return;
    }
    if (!grad_x && !grad_delta) return;
    for (int64_t t = 0; t < T; ++t) {
        sgemm(stream, false, false, B, ni, no, 1.0f, gpre + t * no, ldg, w + t * no * ni, ni, 0.0f, gxin, ni);
        input_gate_grad_kernel<<<blocks_for(B * ni, kThreads), kThreads, 0, st>>>(
            B, ni, gxin, x + t * s.x_tower_stride(), delta, dc, t * ni, (s.x_shared && t > 0) ? 1 : 0,
            grad_x ? grad_x + t * s.x_tower_stride() : nullptr, grad_delta);
        check_launch("input_gate_grad_kernel");
    }
}

}  // namespace dynrec::cuda
