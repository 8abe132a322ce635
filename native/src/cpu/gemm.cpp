// Blocked GEMM (Goto/BLIS scheme): B is packed in KC x NC panels shared by all
// threads, each thread packs its own MC x KC block of A, and a 6x16 register
// micro-kernel accumulates over KC. Edges are zero-padded in the packs, so
// the micro-kernel never branches on shape; partial tiles are written back
// through a small stack buffer. No alignment is assumed for A, B or C.
#include "cpu/gemm.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "cpu/parallel.h"

namespace dynrec::cpu {

namespace {

constexpr int64_t MR = 6;
constexpr int64_t NR = 16;
constexpr int64_t KC = 256;
constexpr int64_t MC = 96;    // multiple of MR
constexpr int64_t NC = 2048;  // multiple of NR

inline float at(const float* x, int64_t ld, bool trans, int64_t r, int64_t c) {
    return trans ? x[c * ld + r] : x[r * ld + c];
}

// Packs op(A)[i0:i0+mc, p0:p0+kc] as ceil(mc/MR) slivers of [kc][MR].
void pack_a(const float* a, int64_t lda, bool trans, int64_t i0, int64_t mc, int64_t p0,
            int64_t kc, float* dst) {
    for (int64_t ir = 0; ir < mc; ir += MR) {
        const int64_t mr = std::min(MR, mc - ir);
        for (int64_t p = 0; p < kc; ++p) {
            for (int64_t r = 0; r < mr; ++r) dst[p * MR + r] = at(a, lda, trans, i0 + ir + r, p0 + p);
            for (int64_t r = mr; r < MR; ++r) dst[p * MR + r] = 0.0f;
        }
        dst += kc * MR;
    }
}

// Packs op(B)[p0:p0+kc, j0:j0+nc] as ceil(nc/NR) slivers of [kc][NR].
void pack_b_sliver(const float* b, int64_t ldb, bool trans, int64_t p0, int64_t kc, int64_t j,
                   int64_t nr, float* dst) {
    if (!trans && nr == NR) {
        for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * NR, b + (p0 + p) * ldb + j, NR * sizeof(float));
        return;
    }
    for (int64_t p = 0; p < kc; ++p) {
        for (int64_t c = 0; c < nr; ++c) dst[p * NR + c] = at(b, ldb, trans, p0 + p, j + c);
        for (int64_t c = nr; c < NR; ++c) dst[p * NR + c] = 0.0f;
    }
}

typedef float v16 __attribute__((vector_size(64), aligned(4)));

// acc[MR][NR] = sum_p a[p][:] (outer) b[p][:]; then C += alpha * acc.
__attribute__((target_clones("avx512f", "arch=haswell", "default")))
void micro_kernel(int64_t kc, const float* __restrict a, const float* __restrict b, float* c,
                  int64_t ldc, int64_t mr, int64_t nr, float alpha) {
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
            v16 cv;
            std::memcpy(&cv, c + r * ldc, sizeof(cv));
            cv += alpha * acc[r];
            std::memcpy(c + r * ldc, &cv, sizeof(cv));
        }
        return;
    }
    for (int64_t r = 0; r < mr; ++r)
        for (int64_t col = 0; col < nr; ++col) c[r * ldc + col] += alpha * acc[r][col];
}

void scale_c(int64_t m, int64_t n, float beta, float* c, int64_t ldc) {
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

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
           const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
           int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    scale_c(m, n, beta, c, ldc);
    if (k <= 0 || alpha == 0.0f) return;

    std::vector<float> bpack(static_cast<size_t>(KC * NC));
    for (int64_t j0 = 0; j0 < n; j0 += NC) {
        const int64_t nc = std::min(NC, n - j0);
        const int64_t n_slivers = (nc + NR - 1) / NR;
        for (int64_t p0 = 0; p0 < k; p0 += KC) {
            const int64_t kc = std::min(KC, k - p0);
            parallel_for(0, n_slivers, 4, [&](int64_t s0, int64_t s1) {
                for (int64_t s = s0; s < s1; ++s)
                    pack_b_sliver(b, ldb, trans_b, p0, kc, j0 + s * NR, std::min(NR, nc - s * NR),
                                  bpack.data() + s * kc * NR);
            });
            // Work items: (row block, group of column slivers) so that small-m
            // GEMMs (weight gradients) still split across threads.
            const int64_t m_blocks = (m + MC - 1) / MC;
            const int64_t n_groups = std::max<int64_t>(1, std::min<int64_t>(n_slivers, 8));
            const int64_t slivers_per_group = (n_slivers + n_groups - 1) / n_groups;
            parallel_for(0, m_blocks * n_groups, 1, [&](int64_t w0, int64_t w1) {
                thread_local std::vector<float> apack;
                apack.resize(static_cast<size_t>(MC * KC));
                int64_t packed_block = -1;
                for (int64_t w = w0; w < w1; ++w) {
                    const int64_t ib = w / n_groups, g = w % n_groups;
                    const int64_t i0 = ib * MC, mc = std::min(MC, m - i0);
                    if (packed_block != ib) {
                        pack_a(a, lda, trans_a, i0, mc, p0, kc, apack.data());
                        packed_block = ib;
                    }
                    const int64_t s_begin = g * slivers_per_group;
                    const int64_t s_end = std::min(n_slivers, s_begin + slivers_per_group);
                    for (int64_t s = s_begin; s < s_end; ++s) {
                        const int64_t j = j0 + s * NR, nr = std::min(NR, nc - s * NR);
                        for (int64_t ir = 0; ir < mc; ir += MR) {
                            micro_kernel(kc, apack.data() + ir * kc, bpack.data() + s * kc * NR,
                                         c + (i0 + ir) * ldc + j, ldc, std::min(MR, mc - ir), nr, alpha);
                        }
                    }
                }
            });
        }
    }
}

void sgemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                     const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
                     float* c, int64_t ldc) {
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
