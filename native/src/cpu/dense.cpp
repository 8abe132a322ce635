// Optimized dense layer pieces (see dense.h): packed GEMMs with the bias,
// activation and previous-activation derivative fused into row-tile
// epilogues. Threads split batch row blocks (and GEMM work items).
#include "cpu/dense.h"

#include <cstring>

#include "cpu/activation.h"
#include "cpu/gemm.h"
#include "cpu/gemm_driver.h"
#include "cpu/reduce.h"
#include "cpu/vector_math.h"

namespace dynrec::cpu {

namespace {

// y = x W^T one block of rows at a time, each row then finished in place by
// finish(row) while the block is in cache.
template <class Finish>
void dense_rows(int64_t batch, int64_t n_in, int64_t n_out, const float* x, const float* w, float* y,
                const Finish& finish) {
    gemm::gemm_rows(batch, n_out, n_in, gemm::StridedA{x, n_in, false}, gemm::StridedB{w, n_in, true},
                    [&](int64_t i0, int64_t rows, const float* tile, int64_t ldt) {
                        for (int64_t r = 0; r < rows; ++r) {
                            float* yr = y + (i0 + r) * n_out;
                            std::memcpy(yr, tile + r * ldt, static_cast<size_t>(n_out) * sizeof(float));
                            finish(yr);
                        }
                    });
}

}  // namespace

void dense_forward(int64_t batch, int64_t n_in, int64_t n_out, const float* x, const float* w, const float* b,
                   int32_t activation, float* y) {
    dense_rows(batch, n_in, n_out, x, w, y, [&](float* yr) { bias_activate(activation, yr, b, n_out); });
}

void dense_forward_gate(int64_t batch, int64_t n_in, int64_t n_out, const float* x, const float* w, const float* b,
                        float gamma, float* y) {
    dense_rows(batch, n_in, n_out, x, w, y, [&](float* yr) { scaled_sigmoid(yr, b, gamma, n_out); });
}

void dense_backward_pre(int64_t batch, int64_t n_in, int64_t n_out, const float* x, const float* w,
                        const float* gpre, float* grad_x, float* grad_w, float* grad_b, int32_t x_activation) {
    if (grad_w) sgemm(true, false, n_out, n_in, batch, 1.0f, gpre, n_out, x, n_in, 0.0f, grad_w, n_in);
    if (grad_b) column_sums(batch, n_out, gpre, grad_b);
    if (!grad_x) return;
    if (x_activation == DYNREC_ACT_NONE) {
        sgemm(false, false, batch, n_in, n_out, 1.0f, gpre, n_out, w, n_in, 0.0f, grad_x, n_in);
        return;
    }
    gemm::gemm_rows(batch, n_in, n_out, gemm::StridedA{gpre, n_out, false}, gemm::StridedB{w, n_in, false},
                    [&](int64_t i0, int64_t rows, const float* tile, int64_t ldt) {
                        for (int64_t r = 0; r < rows; ++r) {
                            const int64_t i = i0 + r;
                            float* gx = grad_x + i * n_in;
                            std::memcpy(gx, tile + r * ldt, static_cast<size_t>(n_in) * sizeof(float));
                            mul_activation_grad(x_activation, x + i * n_in, gx, n_in);
                        }
                    });
}

}  // namespace dynrec::cpu
