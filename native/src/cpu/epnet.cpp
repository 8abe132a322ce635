// Optimized epnet. Forward: two gemm_rows passes; the first packs
// concat(domain, E) straight into the GEMM's A panels (the concat never
// exists) with bias + ReLU in the row-tile epilogue, the second fuses bias,
// sigmoid * gamma and the multiply by E. Backward: one pass forms grad_emb
// (direct path only: the gate input is stop-gradient) and d(a2); then
// GEMMs for grad_w2, d(a1) (ReLU mask fused in the epilogue), grad_w1 (its
// domain and E column blocks written in place through ldc) and grad_domain
// (w1's domain block through ldb); bias grads are deterministic column sums.
// Threads split batch rows (GEMM row blocks / row ranges).
#include "cpu/epnet.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/activation.h"
#include "cpu/gemm.h"
#include "cpu/gemm_driver.h"
#include "cpu/gemm_pack.h"
#include "cpu/parallel.h"
#include "cpu/reduce.h"
#include "cpu/vector_math.h"

namespace dynrec::cpu {

namespace {

using gemm::MR;

// op(A)[i, p] = domain[i, p] for p < n_domain, else E[i, p - n_domain]:
// each part packed by 8 x 8 register transposes.
struct ConcatA {
    const float *domain, *emb;
    int64_t nd, ne;
    void operator()(int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) const {
        const int64_t from_domain = std::clamp<int64_t>(nd - p0, 0, kc);
        for (int64_t ir = 0; ir < mc; ir += MR, dst += kc * MR) {
            const int64_t mr = std::min(MR, mc - ir), i = i0 + ir;
            if (from_domain > 0) gemm::pack_transposed8(domain + i * nd + p0, nd, mr, from_domain, dst, MR);
            if (from_domain < kc)
                gemm::pack_transposed8(emb + i * ne + (p0 + from_domain - nd), ne, mr, kc - from_domain,
                                       dst + from_domain * MR, MR);
        }
    }
};

}  // namespace

void epnet_forward(const EpnetShape& s, const float* domain, const float* emb, const float* w1, const float* b1,
                   const float* w2, const float* b2, float gamma, float* hidden, float* delta, float* out) {
    const int64_t B = s.batch, nd = s.n_domain, ne = s.n_emb, nh = s.n_hidden, nin = s.n_gate_in();
    std::vector<float> scratch;
    float* h = hidden;
    if (h == nullptr) {
        scratch.resize(static_cast<size_t>(B * nh));
        h = scratch.data();
    }
    gemm::gemm_rows(B, nh, nin, ConcatA{domain, emb, nd, ne}, gemm::StridedB{w1, nin, true},
                    [&](int64_t i0, int64_t rows, const float* tile, int64_t ldt) {
                        for (int64_t r = 0; r < rows; ++r) {
                            float* hr = h + (i0 + r) * nh;
                            std::memcpy(hr, tile + r * ldt, static_cast<size_t>(nh) * sizeof(float));
                            bias_activate(DYNREC_ACT_RELU, hr, b1, nh);
                        }
                    });
    gemm::gemm_rows(B, ne, nh, gemm::StridedA{h, nh, false}, gemm::StridedB{w2, nh, true},
                    [&](int64_t i0, int64_t rows, const float* tile, int64_t ldt) {
                        thread_local std::vector<float> gate_row;  // delta's row when the caller keeps none
                        if (!delta) gate_row.resize(static_cast<size_t>(ne));
                        for (int64_t r = 0; r < rows; ++r) {
                            const int64_t i = i0 + r;
                            float* d = delta ? delta + i * ne : gate_row.data();
                            std::memcpy(d, tile + r * ldt, static_cast<size_t>(ne) * sizeof(float));
                            scaled_sigmoid(d, b2, gamma, ne);
                            const float* er = emb + i * ne;
                            float* orow = out + i * ne;
                            for (int64_t o = 0; o < ne; ++o) orow[o] = d[o] * er[o];
                        }
                    });
}

void epnet_backward(const EpnetShape& s, const float* domain, const float* emb, const float* w1, const float* w2,
                    float gamma, const float* hidden, const float* delta, const float* grad_out, float* grad_domain,
                    float* grad_emb, float* grad_w1, float* grad_b1, float* grad_w2, float* grad_b2) {
    const int64_t B = s.batch, nd = s.n_domain, ne = s.n_emb, nh = s.n_hidden, nin = s.n_gate_in();
    const bool need_a1 = grad_domain || grad_w1 || grad_b1;
    const bool need_a2 = need_a1 || grad_w2 || grad_b2;
    std::vector<float> da2(need_a2 ? static_cast<size_t>(B * ne) : 0);
    parallel_for(0, B, 64, [&](int64_t i0, int64_t i1) {
        for (int64_t t = i0 * ne; t < i1 * ne; ++t) {
            const float d = delta[t];
            if (grad_emb) grad_emb[t] = d * grad_out[t];
            if (need_a2) da2[t] = gamma == 0.0f ? 0.0f : grad_out[t] * emb[t] * d * (1.0f - d / gamma);
        }
    });
    if (!need_a2) return;
    if (grad_w2) sgemm(true, false, ne, nh, B, 1.0f, da2.data(), ne, hidden, nh, 0.0f, grad_w2, nh);
    if (grad_b2) column_sums(B, ne, da2.data(), grad_b2);
    if (!need_a1) return;

    std::vector<float> da1(static_cast<size_t>(B * nh));
    gemm::gemm_rows(B, nh, ne, gemm::StridedA{da2.data(), ne, false}, gemm::StridedB{w2, nh, false},
                    [&](int64_t i0, int64_t rows, const float* tile, int64_t ldt) {
                        for (int64_t r = 0; r < rows; ++r) {
                            const int64_t i = i0 + r;
                            float* dr = da1.data() + i * nh;
                            std::memcpy(dr, tile + r * ldt, static_cast<size_t>(nh) * sizeof(float));
                            mul_activation_grad(DYNREC_ACT_RELU, hidden + i * nh, dr, nh);
                        }
                    });
    if (grad_w1) {
        sgemm(true, false, nh, nd, B, 1.0f, da1.data(), nh, domain, nd, 0.0f, grad_w1, nin);
        sgemm(true, false, nh, ne, B, 1.0f, da1.data(), nh, emb, ne, 0.0f, grad_w1 + nd, nin);
    }
    if (grad_b1) column_sums(B, nh, da1.data(), grad_b1);
    if (grad_domain) sgemm(false, false, B, nd, nh, 1.0f, da1.data(), nh, w1, nin, 0.0f, grad_domain, nd);
}

}  // namespace dynrec::cpu
