// hyper_linear with S materialized for the whole (small) batch (see hyper_materialized.h).
// Per row i, with S_i = reshape(z_i g_w^T, [n_in, n_out]):
//   forward:  y_i = act(x_i S_i + x_i g_b + z_i c_w^T + c_b)
//   backward: grad_c_b = column sums of gpre, grad_c_w = gpre^T z, grad_g_b = x^T gpre,
//             grad_x_i = S_i gpre_i + g_b gpre_i (* act'(x)), gS_i = x_i (x) gpre_i,
//             grad_g_w = gS^T z, grad_z = gS g_w + gpre c_w.
// Every reduction is our packed sgemm or a fixed-order loop over one row:
// results do not depend on the thread count. The CUDA twin (which forms S a
// chunk of rows at a time, for any batch) is cuda/hyper_materialized.cu.
#include "cpu/hyper_materialized.h"

#include <algorithm>
#include <memory>

#include "cpu/activation.h"
#include "cpu/gemm.h"
#include "cpu/parallel.h"
#include "cpu/reduce.h"

namespace dynrec::cpu {

namespace {

// S, kept by the calling thread between calls up to kKeepFloats
// (4 MiB) and uninitialized (every element is written before it is read): a
// fresh allocation per call costs page faults that, at these small batches,
// measured as much as the GEMMs (perf: ~20% in the kernel's fault handler).
class SBuffer {
public:
    static constexpr int64_t kKeepFloats = int64_t(1) << 20;
    float* get(int64_t floats) {
        if (floats > size_ || size_ > kKeepFloats) {
            data_.reset();
            data_.reset(new float[static_cast<size_t>(floats)]);
            size_ = floats;
        }
        return data_.get();
    }

private:
    std::unique_ptr<float[]> data_;
    int64_t size_ = 0;
};

float* s_buffer(int64_t floats) {
    thread_local SBuffer buffer;
    return buffer.get(floats);
}

// S[i, a*n_out + b] = sum_c z[i, c] g_w[(a*n_out + b), c].
void form_s(const HyperLinearShape& s, const float* z, const float* g_w, float* S) {
    const int64_t per_row = s.n_in * s.n_out;
    sgemm(false, true, s.batch, per_row, s.n_cond, 1.0f, z, s.n_cond, g_w, s.n_cond, 0.0f, S, per_row);
}

}  // namespace

void hyper_materialized_forward(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                                const float* g_b, const float* c_w, const float* c_b, int32_t activation,
                                float* y) {
    const int64_t B = s.batch, ni = s.n_in, no = s.n_out, nc = s.n_cond, per_row = ni * no;
    float* const S = s_buffer(B * per_row);
    form_s(s, z, g_w, S);
    // The parts without S as GEMMs over the batch: z c_w^T, then + x g_b.
    if (c_w)
        sgemm(false, true, B, no, nc, 1.0f, z, nc, c_w, nc, 0.0f, y, no);
    else
        std::fill(y, y + B * no, 0.0f);
    if (g_b) sgemm(false, false, B, no, ni, 1.0f, x, ni, g_b, no, 1.0f, y, no);
    parallel_for(0, B, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const float* Si = S + i * per_row;
            const float* xi = x + i * ni;
            float* yi = y + i * no;
            for (int64_t a = 0; a < ni; ++a) {
                const float xa = xi[a];
                const float* row = Si + a * no;
                for (int64_t b = 0; b < no; ++b) yi[b] += xa * row[b];
            }
            bias_activate(activation, yi, c_b, no);
        }
    });
}

void hyper_materialized_backward_pre(const HyperLinearShape& s, const float* x, const float* z, const float* g_w,
                                     const float* g_b, const float* c_w, const float* gpre,
                                     const HyperLinearGrads& g, int32_t x_activation, bool accumulate_z) {
    const int64_t B = s.batch, ni = s.n_in, no = s.n_out, nc = s.n_cond, per_row = ni * no;
    // The parts that need no S.
    if (g.c_b) column_sums(B, no, gpre, g.c_b);
    if (g.c_w) sgemm(true, false, no, nc, B, 1.0f, gpre, no, z, nc, 0.0f, g.c_w, nc);
    if (g.g_b) sgemm(true, false, ni, no, B, 1.0f, x, ni, gpre, no, 0.0f, g.g_b, no);
    if (!g.x && !g.g_w && !g.z) return;
    float* const S = s_buffer(B * per_row);
    if (g.x) {
        if (g_b)
            sgemm(false, true, B, ni, no, 1.0f, gpre, no, g_b, no, 0.0f, g.x, ni);
        else
            std::fill(g.x, g.x + B * ni, 0.0f);
        form_s(s, z, g_w, S);
        parallel_for(0, B, 1, [&](int64_t i0, int64_t i1) {
            for (int64_t i = i0; i < i1; ++i) {
                const float* Si = S + i * per_row;
                const float* gi = gpre + i * no;
                float* gxi = g.x + i * ni;
                for (int64_t a = 0; a < ni; ++a) gxi[a] += dot_lanes(Si + a * no, gi, no);
                mul_activation_grad(x_activation, x + i * ni, gxi, ni);
            }
        });
    }
    if (!g.g_w && !g.z) return;
    // gS_i = x_i (x) gpre_i, over S (grad_x is done with it).
    parallel_for(0, B, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            float* gSi = S + i * per_row;
            const float* xi = x + i * ni;
            const float* gi = gpre + i * no;
            for (int64_t a = 0; a < ni; ++a)
                for (int64_t b = 0; b < no; ++b) gSi[a * no + b] = xi[a] * gi[b];
        }
    });
    if (g.g_w) sgemm(true, false, per_row, nc, B, 1.0f, S, per_row, z, nc, 0.0f, g.g_w, nc);
    if (g.z) {
        sgemm(false, false, B, nc, per_row, 1.0f, S, per_row, g_w, nc, accumulate_z ? 1.0f : 0.0f, g.z, nc);
        if (c_w) sgemm(false, false, B, nc, no, 1.0f, gpre, no, c_w, nc, 1.0f, g.z, nc);
    }
}

}  // namespace dynrec::cpu
