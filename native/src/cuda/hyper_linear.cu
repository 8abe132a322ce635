// hyper_linear on CUDA, straightforward and S-free: one thread per output
// element, each contracting x, z and the generator weights directly (g_w is
// parameter-sized and stays in L2), so no per-sample weight is stored.
//   forward   thread (i, b):  y = act(c_b + z.c_w[b] + sum_a x_a (g_b[a,b] + z.g_w[a,b,:]))
//   grad_x    thread (i, a):  sum_b gpre_b (g_b[a,b] + z.g_w[a,b,:])
//   grad_z    thread (i, c):  sum_{a,b} x_a gpre_b g_w[a,b,c] + sum_b gpre_b c_w[b,c]
//   grad_g_w  thread (a,b,c): sum_i x_ia gpre_ib z_ic   (fixed order: deterministic)
//   grad_g_b = x^T gpre, grad_c_w = gpre^T z (cuBLAS), grad_c_b = column sums.
// Performance tuning is left to a later pass; the CPU path is the tuned one.
#include "cuda/common.cuh"
#include "cuda/hyper_linear.cuh"

namespace dynrec::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void forward_kernel(int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond,
                               const float* __restrict__ x, const float* __restrict__ z,
                               const float* __restrict__ g_w, const float* __restrict__ g_b,
                               const float* __restrict__ c_w, const float* __restrict__ c_b, int32_t act,
                               float* __restrict__ y) {
    DYNREC_CUDA_FOR(e, batch * n_out) {
        const int64_t i = e / n_out, b = e % n_out;
        const float* zr = z + i * n_cond;
        const float* xr = x + i * n_in;
        float acc = c_b ? c_b[b] : 0.0f;
        if (c_w)
            for (int64_t c = 0; c < n_cond; ++c) acc += zr[c] * c_w[b * n_cond + c];
        for (int64_t a = 0; a < n_in; ++a) {
            const int64_t ab = a * n_out + b;
            const float* gw = g_w + ab * n_cond;
            float s = g_b ? g_b[ab] : 0.0f;
            for (int64_t c = 0; c < n_cond; ++c) s += zr[c] * gw[c];
            acc += xr[a] * s;
        }
        y[e] = activate_dev(act, acc);
    }
}

__global__ void gpre_kernel(int64_t n, int32_t act, const float* __restrict__ y, const float* __restrict__ grad_y,
                            float* __restrict__ gpre) {
    DYNREC_CUDA_FOR(e, n) gpre[e] = grad_y[e] * (y ? activation_grad_dev(act, y[e]) : 1.0f);
}

__global__ void grad_x_kernel(int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond,
                              const float* __restrict__ x, const float* __restrict__ z,
                              const float* __restrict__ g_w, const float* __restrict__ g_b,
                              const float* __restrict__ gpre, int32_t x_act, float* __restrict__ grad_x) {
    DYNREC_CUDA_FOR(e, batch * n_in) {
        const int64_t i = e / n_in, a = e % n_in;
        const float* zr = z + i * n_cond;
        const float* gr = gpre + i * n_out;
        float acc = 0.0f;
        for (int64_t b = 0; b < n_out; ++b) {
            const int64_t ab = a * n_out + b;
            const float* gw = g_w + ab * n_cond;
            float s = g_b ? g_b[ab] : 0.0f;
            for (int64_t c = 0; c < n_cond; ++c) s += zr[c] * gw[c];
            acc += gr[b] * s;
        }
        grad_x[e] = acc * activation_grad_dev(x_act, x[e]);
    }
}

__global__ void grad_z_kernel(int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond,
                              const float* __restrict__ x, const float* __restrict__ g_w,
                              const float* __restrict__ c_w, const float* __restrict__ gpre, int32_t accumulate,
                              float* __restrict__ grad_z) {
    DYNREC_CUDA_FOR(e, batch * n_cond) {
        const int64_t i = e / n_cond, c = e % n_cond;
        const float* xr = x + i * n_in;
        const float* gr = gpre + i * n_out;
        float acc = 0.0f;
        for (int64_t a = 0; a < n_in; ++a) {
            float s = 0.0f;
            for (int64_t b = 0; b < n_out; ++b) s += gr[b] * g_w[(a * n_out + b) * n_cond + c];
            acc += xr[a] * s;
        }
        if (c_w)
            for (int64_t b = 0; b < n_out; ++b) acc += gr[b] * c_w[b * n_cond + c];
        grad_z[e] = accumulate ? grad_z[e] + acc : acc;
    }
}

__global__ void grad_g_w_kernel(int64_t batch, int64_t n_in, int64_t n_out, int64_t n_cond,
                                const float* __restrict__ x, const float* __restrict__ z,
                                const float* __restrict__ gpre, float* __restrict__ grad_g_w) {
    DYNREC_CUDA_FOR(e, n_in * n_out * n_cond) {
        const int64_t c = e % n_cond, ab = e / n_cond, a = ab / n_out, b = ab % n_out;
        float acc = 0.0f;
        for (int64_t i = 0; i < batch; ++i) acc += x[i * n_in + a] * gpre[i * n_out + b] * z[i * n_cond + c];
        grad_g_w[e] = acc;
    }
}

}  // namespace

int64_t hyper_linear_workspace_bytes(const HyperLinearShape& s) {
    return static_cast<int64_t>(sizeof(float)) * s.batch * s.n_out;
}

void hyper_linear_forward(void* stream, const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                          const float* g_b, const float* c_w, const float* c_b, int32_t activation, float* y) {
    forward_kernel<<<blocks_for(s.batch * s.n_out, kThreads), kThreads, 0, as_stream(stream)>>>(
        s.batch, s.n_in, s.n_out, s.n_cond, x, z, g_w, g_b, c_w, c_b, activation, y);
    check_launch("hyper_linear forward_kernel");
}

void hyper_linear_backward_pre(void* stream, const HyperLinearShape& s, const float* x, const float* z,
                               const float* g_w, const float* g_b, const float* c_w, const float* gpre,
                               const HyperLinearGrads& g, int32_t x_activation, bool accumulate_z) {
    cudaStream_t st = as_stream(stream);
    const int64_t B = s.batch, nin = s.n_in, nout = s.n_out, nc = s.n_cond;
    if (g.x) {
        grad_x_kernel<<<blocks_for(B * nin, kThreads), kThreads, 0, st>>>(B, nin, nout, nc, x, z, g_w, g_b, gpre,
                                                                          x_activation, g.x);
        check_launch("hyper_linear grad_x_kernel");
    }
    if (g.z) {
        grad_z_kernel<<<blocks_for(B * nc, kThreads), kThreads, 0, st>>>(B, nin, nout, nc, x, g_w, c_w, gpre,
                                                                         accumulate_z ? 1 : 0, g.z);
        check_launch("hyper_linear grad_z_kernel");
    }
    if (g.g_w) {
        grad_g_w_kernel<<<blocks_for(nin * nout * nc, kThreads), kThreads, 0, st>>>(B, nin, nout, nc, x, z, gpre,
                                                                                    g.g_w);
        check_launch("hyper_linear grad_g_w_kernel");
    }
    if (g.g_b) sgemm(stream, true, false, nin, nout, B, 1.0f, x, nin, gpre, nout, 0.0f, g.g_b, nout);
    if (g.c_w) sgemm(stream, true, false, nout, nc, B, 1.0f, gpre, nout, z, nc, 0.0f, g.c_w, nc);
    if (g.c_b) column_sums(stream, B, nout, gpre, g.c_b);
}

void hyper_linear_backward(void* stream, const HyperLinearShape& s, const float* x, const float* z,
                           const float* g_w, const float* g_b, const float* c_w, int32_t activation, const float* y,
                           const float* grad_y, const HyperLinearGrads& grads, void* workspace) {
    float* gpre = static_cast<float*>(workspace);
    gpre_kernel<<<blocks_for(s.batch * s.n_out, kThreads), kThreads, 0, as_stream(stream)>>>(
        s.batch * s.n_out, activation, y, grad_y, gpre);
    check_launch("hyper_linear gpre_kernel");
    hyper_linear_backward_pre(stream, s, x, z, g_w, g_b, c_w, gpre, grads, DYNREC_ACT_NONE, false);
}

}  // namespace dynrec::cuda
