// Blocked GEMM (Goto/BLIS scheme, see gemm_driver.h): B is packed in KC x NC
// panels shared by all threads, each thread packs its own MC x KC block of A,
// and a 6x16 register micro-kernel accumulates over KC. Edges are
// zero-padded in the packs, so the micro-kernel never branches on shape;
// partial tiles are written back element by element. No alignment is
// assumed for A, B or C.
#include "cpu/gemm.h"

#include <algorithm>
#include <cstring>

#include "cpu/gemm_driver.h"
#include "cpu/parallel.h"

namespace dynrec::cpu {

namespace gemm {

typedef float v16 __attribute__((vector_size(64), aligned(4)));

// acc[MR][NR] = sum_p a[p][:] (outer) b[p][:]; then C (+)= alpha * acc.
__attribute__((target_clones("avx512f", "arch=haswell", "default")))
void micro_kernel(int64_t kc, const float* __restrict a, const float* __restrict b, float* c,
                  int64_t ldc, int64_t mr, int64_t nr, float alpha, bool accumulate) {
    v16 acc0 = {}, acc1 = {}, acc2 = {}, acc3 = {}, acc4 = {}, acc5 = {};
    for (int64_t p = 0; p < kc; ++p) {
        v16 bv;
        std::memcpy(&bv, b + p * NR, sizeof(bv));
        const float* ap = a + p * MR;
        acc0 += ap[0] * bv;
        acc1 += ap[1] * bv;
        acc2 += ap[2] * bv;
        acc3 += ap[3] * bv;
        acc4 += ap[4] * bv;
        acc5 += ap[5] * bv;
    }
    v16 acc[MR] = {acc0, acc1, acc2, acc3, acc4, acc5};
    if (mr == MR && nr == NR) {
        for (int64_t r = 0; r < MR; ++r) {
            v16 cv = alpha * acc[r];
            if (accumulate) {
                v16 old;
                std::memcpy(&old, c + r * ldc, sizeof(old));
                cv += old;
            }
            std::memcpy(c + r * ldc, &cv, sizeof(cv));
        }
        return;
    }
    for (int64_t r = 0; r < mr; ++r)
        for (int64_t col = 0; col < nr; ++col) {
            const float v = alpha * acc[r][col];
            c[r * ldc + col] = accumulate ? c[r * ldc + col] + v : v;
        }
}

void scale_rows(int64_t m, int64_t n, float beta, float* c, int64_t ldc) {
    if (beta == 1.0f) return;
    parallel_for(0, m, 64, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            float* row = c + i * ldc;
            if (beta == 0.0f)
                std::fill(row, row + n, 0.0f);
            else
                for (int64_t j = 0; j < n; ++j) row[j] *= beta;
        }
    });
}

}  // namespace gemm

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
    gemm::gemm_packed(m, n, k, alpha, gemm::StridedA{a, lda, trans_a}, gemm::StridedB{b, ldb, trans_b}, beta, c,
                      ldc);
}

void sgemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                     const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                     float* c, int64_t ldc) {
    auto at = [](const float* x, int64_t ld, bool trans, int64_t r, int64_t col) {
        return trans ? x[col * ld + r] : x[r * ld + col];
    };
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double s = 0.0;
            for (int64_t p = 0; p < k; ++p)
                s += double(at(a, lda, trans_a, i, p)) * double(at(b, ldb, trans_b, p, j));
            const float prev = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
            c[i * ldc + j] = prev + alpha * float(s);
        }
}

}  // namespace dynrec::cpu
