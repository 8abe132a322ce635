// The packed-GEMM building blocks shared by sgemm and the fused kernels.
//
// A GEMM here is "pack A, pack B, run the 8x16 register micro-kernel". The
// packers are template parameters, so a fused kernel can feed operands that
// never exist in memory (an outer product, a concat, a gated input) straight
// into the packed panels, and a row-tile epilogue can finish each block of
// output rows while it is still in cache.
//
// Packer contracts (all offsets in elements of op(A) / op(B)):
//   pack_a(i0, mc, p0, kc, dst): rows i0..i0+mc, columns p0..p0+kc of op(A) as
//     ceil(mc/MR) slivers of [kc][MR]; rows past mc are zero.
//   pack_b(p0, kc, j, nr, dst): rows p0..p0+kc, columns j..j+nr of op(B) as
//     one [kc][NR] sliver; columns past nr are zero.
// Packers are called concurrently from several threads and must be const.
// No alignment is assumed for any operand, and any size >= 1 works (edges
// are zero-padded in the packs, so the micro-kernel never branches on shape).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cpu/gemm_pack.h"
#include "cpu/gemm_small_m.h"
#include "cpu/parallel.h"

namespace dynrec::cpu::gemm {

constexpr int64_t MR = 8;
constexpr int64_t NR = 16;
constexpr int64_t KC = 256;
constexpr int64_t MC = 96;    // multiple of MR
constexpr int64_t NC = 2048;  // multiple of NR
// gemm_rows keeps one [rows x round_up(n, NR)] tile per thread within this.
constexpr int64_t kRowTileFloats = int64_t(128) * 1024;

// C[mr x nr] (leading dim ldc) = alpha * A_sliver . B_sliver over kc, added to
// C when `accumulate`, stored over it otherwise. a: [kc][MR], b: [kc][NR].
void micro_kernel(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                  int64_t nr, float alpha, bool accumulate);
// The same over nr <= 2 * NR columns from two adjacent B slivers (b and
// b + kc * NR): one 8 x 32 tile on AVX-512, where it is ~20% faster than two
// 8 x 16 calls; two 8 x 16 calls elsewhere. Bit-identical to micro_kernel.
void micro_kernel_wide(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int64_t mr,
                       int64_t nr, float alpha, bool accumulate);

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// C[mc x cols] (+)= alpha * (an mc-row block of packed A slivers, [kc][MR]
// each) times `cols` columns of packed B (consecutive [kc][NR] slivers at
// bp), two slivers per micro-kernel call.
inline void block_times_slivers(int64_t kc, const float* apack, int64_t mc, const float* bp, int64_t cols,
                                float* c, int64_t ldc, float alpha, bool accumulate) {
    for (int64_t j = 0; j < cols; j += 2 * NR)
        for (int64_t ir = 0; ir < mc; ir += MR)
            micro_kernel_wide(kc, apack + ir * kc, bp + j * kc, c + ir * ldc + j, ldc, std::min(MR, mc - ir),
                              std::min(2 * NR, cols - j), alpha, accumulate);
}

// K split into near-equal blocks of at most KC (no 1-wide tail block).
inline int64_t k_block(int64_t k) { return k <= 0 ? 1 : ceil_div(k, ceil_div(k, KC)); }

// A 16-column sliver of B [k, n] (ldb) starting at column j, where it lies,
// or, when fewer than NR columns remain, copied zero-padded into `edge`
// (so no 16-wide load runs past B's rows). Sets `ld` to the sliver's row stride.
inline const float* b_sliver(const float* b, int64_t ldb, int64_t k, int64_t j, int64_t cols,
                             std::vector<float>& edge, int64_t& ld) {
    ld = ldb;
    if (cols >= NR) return b + j;
    edge.assign(static_cast<size_t>(k * NR), 0.0f);
    for (int64_t p = 0; p < k; ++p) std::memcpy(edge.data() + p * NR, b + p * ldb + j, cols * sizeof(float));
    ld = NR;
    return edge.data();
}

// Packs op(A) given as an element function f(i, p).
template <class F>
void pack_a_by(const F& f, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) {
    for (int64_t ir = 0; ir < mc; ir += MR, dst += kc * MR) {
        const int64_t mr = std::min(MR, mc - ir);
        for (int64_t p = 0; p < kc; ++p) {
            for (int64_t r = 0; r < mr; ++r) dst[p * MR + r] = f(i0 + ir + r, p0 + p);
            for (int64_t r = mr; r < MR; ++r) dst[p * MR + r] = 0.0f;
        }
    }
}

// Packs one sliver of op(B) given as an element function f(p, j).
template <class F>
void pack_b_by(const F& f, int64_t p0, int64_t kc, int64_t j, int64_t nr, float* dst) {
    for (int64_t p = 0; p < kc; ++p) {
        for (int64_t c = 0; c < nr; ++c) dst[p * NR + c] = f(p0 + p, j + c);
        for (int64_t c = nr; c < NR; ++c) dst[p * NR + c] = 0.0f;
    }
}

// op(A) of a strided row-major matrix: A [m, k] (lda) or, transposed, A^T of a [k, m].
struct StridedA {
    const float* a;
    int64_t lda;
    bool trans;
    void operator()(int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) const {
        for (int64_t ir = 0; ir < mc; ir += MR, dst += kc * MR) {
            const int64_t mr = std::min(MR, mc - ir);
            if (trans) {
                const float* src = a + p0 * lda + i0 + ir;
                if (mr == MR) {  // a constant-size copy: inlined, not a libc call per 32 bytes
                    for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * MR, src + p * lda, MR * sizeof(float));
                    continue;
                }
                for (int64_t p = 0; p < kc; ++p) {
                    std::memcpy(dst + p * MR, src + p * lda, static_cast<size_t>(mr) * sizeof(float));
                    for (int64_t r = mr; r < MR; ++r) dst[p * MR + r] = 0.0f;
                }
            } else {
                static_assert(MR == 8, "one 8-row transpose per sliver");
                pack_transposed8(a + (i0 + ir) * lda + p0, lda, mr, kc, dst, MR);
            }
        }
    }
};

// op(B) of a strided row-major matrix: B [k, n] (ldb) or, transposed, B^T of a [n, k].
struct StridedB {
    const float* b;
    int64_t ldb;
    bool trans;
    void operator()(int64_t p0, int64_t kc, int64_t j, int64_t nr, float* dst) const {
        if (!trans) {
            if (nr == NR) {  // a constant-size copy: inlined, not a libc call per 64 bytes
                for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * NR, b + (p0 + p) * ldb + j, NR * sizeof(float));
                return;
            }
            for (int64_t p = 0; p < kc; ++p) {
                const float* src = b + (p0 + p) * ldb + j;
                std::memcpy(dst + p * NR, src, static_cast<size_t>(nr) * sizeof(float));
                for (int64_t c = nr; c < NR; ++c) dst[p * NR + c] = 0.0f;
            }
            return;
        }
        // Column c of the sliver is row j + c of b: two 8-row transposes.
        static_assert(NR == 16, "two 8-row transposes per sliver");
        const float* src = b + j * ldb + p0;
        pack_transposed8(src, ldb, std::min<int64_t>(nr, 8), kc, dst, NR);
        pack_transposed8(nr > 8 ? src + 8 * ldb : src, ldb, std::max<int64_t>(nr - 8, 0), kc, dst + 8, NR);
    }
};

void scale_rows(int64_t m, int64_t n, float beta, float* c, int64_t ldc);

// C[m,n] = alpha * op(A) op(B) + beta * C with caller packers (Goto/BLIS
// order): per NC x KC panel of B, packed once and shared by all threads,
// threads take (MC row block, group of B slivers) work items, each packing
// its own A block. Every C element is owned by one thread and summed over K
// in a fixed order, so results do not depend on the thread count.
template <class PackA, class PackB>
void gemm_packed(int64_t m, int64_t n, int64_t k, float alpha, const PackA& pack_a, const PackB& pack_b,
                 float beta, float* c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0.0f) {
        scale_rows(m, n, beta, c, ldc);
        return;
    }
    // beta == 0 is handled by storing (not accumulating) in the first K block,
    // so C may hold garbage (even NaN) on entry, as BLAS allows.
    if (beta != 0.0f && beta != 1.0f) scale_rows(m, n, beta, c, ldc);
    const int64_t kb = k_block(k);
    std::vector<float> bpack(static_cast<size_t>(kb * std::min(NC, round_up(n, NR))));
    for (int64_t j0 = 0; j0 < n; j0 += NC) {
        const int64_t nc = std::min(NC, n - j0);
        const int64_t n_slivers = ceil_div(nc, NR);
        for (int64_t p0 = 0; p0 < k; p0 += kb) {
            const int64_t kc = std::min(kb, k - p0);
            const bool accumulate = p0 > 0 || beta != 0.0f;
            parallel_for(0, n_slivers, 4, [&](int64_t s0, int64_t s1) {
                for (int64_t s = s0; s < s1; ++s)
                    pack_b(p0, kc, j0 + s * NR, std::min(NR, nc - s * NR), bpack.data() + s * kc * NR);
            });
            // Work items: (row block, group of column slivers) so that small-m
            // GEMMs (weight gradients) still split across threads. Row blocks
            // of equal height (at most MC): 128 rows as 96 + 32 left one thread
            // with three times the other's work.
            const int64_t m_blocks = ceil_div(m, MC);
            const int64_t mb = std::min(MC, round_up(ceil_div(m, m_blocks), MR));
            // Groups hold whole sliver pairs (the wide micro-kernel's unit).
            const int64_t n_pairs = ceil_div(n_slivers, 2);
            const int64_t n_groups = std::max<int64_t>(1, std::min<int64_t>(n_pairs, 8));
            const int64_t per_group = 2 * ceil_div(n_pairs, n_groups);
            // Threads take pieces of work items as they finish (about four
            // per thread; at most one row block, so A is packed once a piece).
            const int64_t items = ceil_div(m, mb) * n_groups;
            const int64_t piece = std::clamp<int64_t>(items / (4 * int64_t(max_threads())), 1, n_groups);
            parallel_for_dynamic(0, items, piece, [&](int64_t w0, int64_t w1) {
                thread_local std::vector<float> apack;
                apack.resize(static_cast<size_t>(MC * KC));
                int64_t packed_block = -1;
                for (int64_t w = w0; w < w1; ++w) {
                    const int64_t ib = w / n_groups, g = w % n_groups;
                    const int64_t i0 = ib * mb, mc = std::min(mb, m - i0);
                    if (packed_block != ib) {
                        pack_a(i0, mc, p0, kc, apack.data());
                        packed_block = ib;
                    }
                    const int64_t s_begin = g * per_group, s_end = std::min(n_slivers, s_begin + per_group);
                    if (s_begin < s_end)
                        block_times_slivers(kc, apack.data(), mc, bpack.data() + s_begin * kc * NR,
                                            std::min(nc, s_end * NR) - s_begin * NR, c + i0 * ldc + j0 + s_begin * NR,
                                            ldc, alpha, accumulate);
                }
            });
        }
    }
}

// Rows of op(A) per gemm_rows block: enough blocks to keep every thread busy,
// few enough rows that a block's [rows x n] tile stays in L2.
inline int64_t row_block(int64_t m, int64_t ld_tile) {
    const int64_t cap = std::max(MR, std::min(MC, kRowTileFloats / ld_tile / MR * MR));
    const int64_t want = round_up(ceil_div(m, 2 * int64_t(max_threads())), MR);
    return std::clamp(want, MR, cap);
}

// T = op(A) op(B) one block of rows at a time, then epilogue(i0, rows, T, ldt)
// with the block's complete rows (T holds rows x n, leading dim ldt; rows
// beyond `rows` and columns beyond n are scratch). All of op(B) is packed
// once up front (k x n floats, shared); each thread packs its own A block
// and keeps its tile, so the whole product never exists in memory. Threads
// split the row blocks; the epilogue of a block runs on the thread that
// computed it; threads take blocks as they finish (parallel_for_dynamic).
// Not reentrant from inside an epilogue.
// With a few rows (m <= kSmallM) and plain strided weights, packing all of
// op(B) would cost as much as the product: the small-m GEMM reads the weights
// in place instead and the epilogue then runs once over all m rows.
template <class PackA, class PackB, class Epilogue>
void gemm_rows(int64_t m, int64_t n, int64_t k, const PackA& pack_a, const PackB& pack_b,
               const Epilogue& epilogue) {
    if (m <= 0 || n <= 0) return;
    if constexpr (std::is_same_v<PackB, StridedB>) {
        if (m <= kSmallM && k > 0) {
            const int64_t kb = k_block(k), mpad = round_up(m, MR);
            float* const apack = small_m_pack_buffer(mpad * k);
            for (int64_t p0 = 0; p0 < k; p0 += kb) pack_a(0, m, p0, std::min(kb, k - p0), apack + p0 * mpad);
            float* const product = small_m_product_buffer(m * n);
            small_m_gemm(m, n, k, 1.0f, apack, pack_b.b, pack_b.ldb, pack_b.trans, 0.0f, product, n);
            epilogue(int64_t(0), m, static_cast<const float*>(product), n);
            return;
        }
    }
    const int64_t n_slivers = ceil_div(n, NR), ldt = n_slivers * NR;
    const int64_t kb = k_block(k);
    // Block p0 (kc rows of op(B)) starts at p0 * ldt; sliver s inside it at s * kc * NR.
    std::vector<float> bpack(static_cast<size_t>(std::max<int64_t>(k, 0) * ldt));
    const int64_t k_blocks = k > 0 ? ceil_div(k, kb) : 0;
    parallel_for(0, k_blocks * n_slivers, 8, [&](int64_t w0, int64_t w1) {
        for (int64_t w = w0; w < w1; ++w) {
            const int64_t p0 = (w / n_slivers) * kb, s = w % n_slivers, kc = std::min(kb, k - p0);
            pack_b(p0, kc, s * NR, std::min(NR, n - s * NR), bpack.data() + p0 * ldt + s * kc * NR);
        }
    });
    const int64_t rb = row_block(m, ldt);
    parallel_for_dynamic(0, ceil_div(m, rb), 1, [&](int64_t b0, int64_t b1) {
        thread_local std::vector<float> apack, tile;
        apack.resize(static_cast<size_t>(rb * kb));
        tile.resize(static_cast<size_t>(rb * ldt));
        for (int64_t blk = b0; blk < b1; ++blk) {
            const int64_t i0 = blk * rb, mc = std::min(rb, m - i0);
            if (k <= 0) std::fill(tile.begin(), tile.end(), 0.0f);
            for (int64_t p0 = 0; p0 < k; p0 += kb) {
                const int64_t kc = std::min(kb, k - p0);
                pack_a(i0, mc, p0, kc, apack.data());
                // Whole slivers (ldt columns): T's padding columns are scratch.
                block_times_slivers(kc, apack.data(), round_up(mc, MR), bpack.data() + p0 * ldt, ldt, tile.data(),
                                    ldt, 1.0f, p0 > 0);
            }
            epilogue(i0, mc, static_cast<const float*>(tile.data()), ldt);
        }
    });
}

// C[m, n] = op(A) op(B) for a small m (a few MR slivers) and a long K: each
// thread packs all of op(A) once (m x k, small), then walks its share of the
// column slivers, packing each K block of a sliver right before use. An
// operand formed on the fly (an outer product) is thus consumed from L1 and
// never stored whole. Threads split column slivers; every C element is
// summed over K in a fixed order by one thread (deterministic).
template <class PackA, class PackB>
void gemm_small_m(int64_t m, int64_t n, int64_t k, const PackA& pack_a, const PackB& pack_b, float* c,
                  int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        scale_rows(m, n, 0.0f, c, ldc);
        return;
    }
    const int64_t n_slivers = ceil_div(n, NR), kb = k_block(k), mpad = round_up(m, MR);
    // Threads split sliver pairs (the wide micro-kernel's unit).
    parallel_for(0, ceil_div(n_slivers, 2), 1, [&](int64_t q0, int64_t q1) {
        // Per call, not thread_local: op(A) spans all of K (the batch for
        // weight gradients), so a cached copy would pin O(batch) per thread.
        std::vector<float> apack(static_cast<size_t>(mpad * k)), bpair(static_cast<size_t>(2 * kb * NR));
        for (int64_t p0 = 0; p0 < k; p0 += kb) pack_a(0, m, p0, std::min(kb, k - p0), apack.data() + p0 * mpad);
        for (int64_t q = q0; q < q1; ++q) {
            const int64_t j = 2 * q * NR, cols = std::min(2 * NR, n - j);
            for (int64_t p0 = 0; p0 < k; p0 += kb) {
                const int64_t kc = std::min(kb, k - p0);
                for (int64_t h = 0; h * NR < cols; ++h)
                    pack_b(p0, kc, j + h * NR, std::min(NR, cols - h * NR), bpair.data() + h * kc * NR);
                block_times_slivers(kc, apack.data() + p0 * mpad, m, bpair.data(), cols, c + j, ldc, 1.0f, p0 > 0);
            }
        }
    });
}

}  // namespace dynrec::cpu::gemm
