// sgemm (packed, small-m, tiny-m and small-k paths) against the naive reference loops: every
// transpose combination, beta 0 / 1 / other, padded leading dimensions, sizes
// off the 8 x 16 / 8 x 32 tiles, 1 and several threads, and C holding NaN when beta == 0.
// Compiled from the library's sources (the library exports only the C ABI).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cpu/gemm.h"
#include "cpu/gemm_pack.h"
#include "cpu/gemm_skinny.h"
#include "cpu/gemm_small_m.h"
#include "cpu/gemm_unpacked.h"
#include "cpu/parallel.h"
#include "test_util.h"

namespace {

using dynrec_test::all_close;
using dynrec_test::random_vector;

struct Shape {
    int64_t m, n, k;
};

void check_gemm(bool ta, bool tb, Shape s, float alpha, float beta, int threads) {
    SCOPED_TRACE(::testing::Message() << "ta=" << ta << " tb=" << tb << " m=" << s.m << " n=" << s.n << " k=" << s.k
                                      << " alpha=" << alpha << " beta=" << beta << " threads=" << threads);
    // Leading dimensions padded past the logical widths.
    const int64_t lda = (ta ? s.m : s.k) + 3, ldb = (tb ? s.k : s.n) + 5, ldc = s.n + 2;
    const int64_t a_rows = ta ? s.k : s.m, b_rows = tb ? s.n : s.k;
    auto a = random_vector(a_rows * lda, 11);
    auto b = random_vector(b_rows * ldb, 12);
    auto c0 = random_vector(s.m * ldc, 13);
    if (beta == 0.0f)  // BLAS semantics: C is not read, so NaN must not leak in.
        for (auto& v : c0) v = std::numeric_limits<float>::quiet_NaN();
    auto expected = c0, got = c0;
    dynrec::cpu::sgemm_reference(ta, tb, s.m, s.n, s.k, alpha, a.data(), lda, b.data(), ldb, beta, expected.data(),
                                 ldc);
    dynrec::cpu::set_threads(threads);
    dynrec::cpu::sgemm(ta, tb, s.m, s.n, s.k, alpha, a.data(), lda, b.data(), ldb, beta, got.data(), ldc);
    dynrec::cpu::set_threads(0);
    // The padding columns of C are never written: compare them too (NaN == NaN there).
    for (int64_t i = 0; i < s.m; ++i)
        for (int64_t j = s.n; j < ldc; ++j) {
            EXPECT_TRUE(std::isnan(c0[i * ldc + j]) ? std::isnan(got[i * ldc + j]) : got[i * ldc + j] == c0[i * ldc + j])
                << "padding of C written at row " << i;
            got[i * ldc + j] = expected[i * ldc + j] = 0.0f;
        }
    EXPECT_TRUE(all_close(got, expected, 1e-4f, 1e-4f));
}

TEST(Sgemm, SmallMPathMatchesReference) {
    const Shape shapes[] = {{1, 1, 1},   {1, 17, 5},   {3, 16, 16},  {7, 33, 70},  {8, 48, 300}, {9, 130, 257},
                            {16, 15, 4}, {17, 200, 513}, {31, 64, 9}, {32, 77, 1}, {5, 3000, 33}};
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (const Shape& s : shapes)
                for (float beta : {0.0f, 1.0f, -0.5f})
                    for (int threads : {1, 3}) check_gemm(ta, tb, s, 0.75f, beta, threads);
}

// 1-4 rows: K and N on and off the 16 lanes, the 4-row W groups and the 64-column B blocks.
TEST(Sgemm, TinyMPathMatchesReference) {
    const Shape shapes[] = {{1, 1, 1},   {1, 3, 15},  {1, 5, 16},   {1, 67, 17},   {2, 64, 31},  {2, 129, 100},
                            {3, 7, 33},  {3, 80, 257}, {4, 4, 48},  {4, 197, 513}, {4, 1000, 3}, {1, 383, 696}};
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (const Shape& s : shapes)
                for (float beta : {0.0f, 1.0f, -0.5f})
                    for (int threads : {1, 3}) check_gemm(ta, tb, s, 0.75f, beta, threads);
}

// A reduction of 1-16 steps with many output rows (weight gradients at tiny batches).
TEST(Sgemm, SmallKPathMatchesReference) {
    const Shape shapes[] = {{33, 1, 1},   {40, 17, 2},  {100, 63, 3}, {384, 696, 1},
                            {65, 130, 8}, {257, 64, 5}, {70, 33, 16}, {45, 100, 11}};
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (const Shape& s : shapes)
                for (float beta : {0.0f, 1.0f, -0.5f})
                    for (int threads : {1, 3}) check_gemm(ta, tb, s, -1.5f, beta, threads);
}

// The skinny paths sum each element in a fixed order: bitwise the same at any thread count.
TEST(Sgemm, SkinnyPathsDoNotDependOnThreads) {
    const Shape shapes[] = {{1, 383, 696}, {3, 200, 77}, {300, 190, 4}};
    for (bool tb : {false, true})
        for (const Shape& s : shapes) {
            const int64_t ldb = tb ? s.k : s.n;
            auto a = random_vector(s.m * s.k, 21), b = random_vector((tb ? s.n : s.k) * ldb, 22);
            std::vector<float> c1(s.m * s.n), c3(s.m * s.n);
            dynrec::cpu::set_threads(1);
            dynrec::cpu::sgemm(false, tb, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), ldb, 0.0f, c1.data(), s.n);
            dynrec::cpu::set_threads(3);
            dynrec::cpu::sgemm(false, tb, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), ldb, 0.0f, c3.data(), s.n);
            dynrec::cpu::set_threads(0);
            EXPECT_EQ(c1, c3) << "m=" << s.m << " n=" << s.n << " k=" << s.k << " tb=" << tb;
        }
}

// A B with 1-4 rows rounds as the 8-row small-m path does (same K blocks, same
// write-back), so an op's gradient has the same bits whichever of its rows are asked for.
TEST(Sgemm, TinyMRowsEqualTheSameRowsOfALargerProduct) {
    for (const Shape& big : {Shape{9, 70, 300}, Shape{12, 131, 600}, Shape{10, 15, 33}})
        for (float beta : {0.0f, 1.0f, -0.5f}) {
            auto a = random_vector(big.m * big.k, 31), b = random_vector(big.k * big.n, 32);
            const auto c0 = random_vector(big.m * big.n, 33);
            auto all = c0;
            dynrec::cpu::sgemm(false, false, big.m, big.n, big.k, 0.5f, a.data(), big.k, b.data(), big.n, beta,
                               all.data(), big.n);
            for (int64_t m = 1; m <= dynrec::cpu::kTinyM; ++m) {
                auto few = c0;
                dynrec::cpu::sgemm(false, false, m, big.n, big.k, 0.5f, a.data(), big.k, b.data(), big.n, beta,
                                   few.data(), big.n);
                EXPECT_TRUE(std::equal(few.begin(), few.begin() + m * big.n, all.begin()))
                    << "m=" << m << " of " << big.m << " n=" << big.n << " k=" << big.k << " beta=" << beta;
            }
        }
}

TEST(Sgemm, SmallKPathTakesOnlyItsShapes) {
    std::vector<float> a(64 * 64, 1.0f), b(64 * 64, 1.0f), c(64 * 64, 0.0f);
    EXPECT_TRUE(dynrec::cpu::sgemm_small_k(true, false, 64, 64, 16, 1.0f, a.data(), 64, b.data(), 64, 0.0f, c.data(), 64));
    EXPECT_FLOAT_EQ(c[0], 16.0f);
    EXPECT_FALSE(dynrec::cpu::sgemm_small_k(true, false, 64, 64, 17, 1.0f, a.data(), 64, b.data(), 64, 0.0f, c.data(), 64));
    EXPECT_FALSE(dynrec::cpu::sgemm_small_k(true, false, 64, 64, 0, 1.0f, a.data(), 64, b.data(), 64, 0.0f, c.data(), 64));
    EXPECT_FALSE(dynrec::cpu::sgemm_small_k(true, false, 64, 64, 4, 0.0f, a.data(), 64, b.data(), 64, 0.0f, c.data(), 64));
}

TEST(Sgemm, PackedPathMatchesReference) {
    const Shape shapes[] = {{33, 17, 17}, {97, 130, 257}, {200, 16, 600}, {65, 2100, 19}};
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (const Shape& s : shapes)
                for (float beta : {0.0f, 1.0f, 2.0f}) check_gemm(ta, tb, s, -1.25f, beta, 2);
}

// The packed path computes two 16-column slivers per micro-kernel call (8 x 32)
// where it can and one at the edges: a column's bits must not depend on
// which. Columns 16..47 of a 64-wide product are one pair there, and a pair
// straddling two calls' tiles or a lone sliver when asked for alone.
TEST(Sgemm, PackedColumnsDoNotDependOnTheirNeighbours) {
    for (bool tb : {false, true})
        for (const Shape& s : {Shape{100, 64, 300}, Shape{67, 64, 17}, Shape{200, 64, 513}}) {
            const int64_t ldb = tb ? s.k : s.n;
            auto a = random_vector(s.m * s.k, 41), b = random_vector((tb ? s.n : s.k) * ldb, 42);
            std::vector<float> all(s.m * s.n);
            dynrec::cpu::sgemm(false, tb, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), ldb, 0.0f, all.data(), s.n);
            for (int64_t j0 : {0, 16, 32})
                for (int64_t width : {16, 32}) {
                    if (j0 + width > s.n) continue;
                    const float* bj = tb ? b.data() + j0 * ldb : b.data() + j0;
                    std::vector<float> part(s.m * width);
                    dynrec::cpu::sgemm(false, tb, s.m, width, s.k, 1.0f, a.data(), s.k, bj, ldb, 0.0f, part.data(),
                                       width);
                    for (int64_t i = 0; i < s.m; ++i)
                        ASSERT_TRUE(std::equal(part.begin() + i * width, part.begin() + (i + 1) * width,
                                               all.begin() + i * s.n + j0))
                            << "row " << i << " columns " << j0 << ".." << j0 + width << " tb=" << tb << " m=" << s.m
                            << " k=" << s.k;
                }
        }
}

// The 8 x 8 register transposes against the scalar copy: every row count up
// to 8, K on and off the 8-column blocks, padded source and destination rows.
TEST(PackTransposed8, MatchesTheScalarCopy) {
    for (int64_t rows = 0; rows <= 8; ++rows)
        for (int64_t kc : {1, 7, 8, 9, 17, 64, 257})
            for (int64_t dst_ld : {8, 16}) {
                const int64_t ld = kc + 3;
                const auto src = random_vector(std::max<int64_t>(rows, 1) * ld, 51);
                std::vector<float> got(kc * dst_ld, -7.0f), want(kc * dst_ld, -7.0f);
                dynrec::cpu::gemm::pack_transposed8(src.data(), ld, rows, kc, got.data(), dst_ld);
                dynrec::cpu::gemm::pack_transposed8_reference(src.data(), ld, rows, kc, want.data(), dst_ld);
                EXPECT_EQ(got, want) << "rows=" << rows << " kc=" << kc << " dst_ld=" << dst_ld;
                for (int64_t p = 0; p < kc; ++p)  // the destination's other columns are left alone
                    for (int64_t c = 8; c < dst_ld; ++c) ASSERT_EQ(got[p * dst_ld + c], -7.0f);
            }
}

TEST(Sgemm, SmallMPathTakesOnlyItsShapes) {
    std::vector<float> a(64 * 64, 1.0f), b(64 * 64, 1.0f), c(64 * 64, 0.0f);
    EXPECT_TRUE(dynrec::cpu::sgemm_small_m(false, false, 32, 64, 64, 1.0f, a.data(), 64, b.data(), 64, 0.0f, c.data(), 64));
    EXPECT_FALSE(dynrec::cpu::sgemm_small_m(false, false, 33, 64, 64, 1.0f, a.data(), 64, b.data(), 64, 0.0f, c.data(), 64));
    EXPECT_FALSE(dynrec::cpu::sgemm_small_m(false, true, 8, 64, 0, 1.0f, a.data(), 64, b.data(), 64, 0.0f, c.data(), 64));
    EXPECT_FALSE(dynrec::cpu::sgemm_small_m(true, true, 8, 64, 64, 0.0f, a.data(), 64, b.data(), 64, 0.0f, c.data(), 64));
}

}  // namespace

// gemm_unpacked (hyper_grouped.cpp's per-group products): odd shapes around its
// 8 x 2-vector (AVX-512) and 4 x 1 (AVX2 / baseline: the gemm.without_avx512 run)
// tiles and the single rows after them, A read plainly and transposed through its strides, B and C with padded
// rows, overwritten, accumulated and started from a bias row; vs the
// double-precision loops.
TEST(GemmUnpacked, MatchesReferenceOnOddShapesAndStrides) {
    struct Shape {
        int64_t m, n, k;
    };
    for (const Shape s : {Shape{1, 1, 1}, Shape{3, 17, 5}, Shape{8, 32, 16}, Shape{12, 64, 64}, Shape{13, 47, 33},
                          Shape{64, 64, 12}, Shape{5, 16, 4099}, Shape{16, 300, 9}, Shape{9, 33, 1},
                          // 1-3 rows left after 8- and 4-row tiles, on whole vectors
                          Shape{2, 48, 7}, Shape{3, 64, 64}, Shape{6, 16, 20}, Shape{7, 33, 12}, Shape{11, 64, 3},
                          Shape{14, 80, 9}, Shape{15, 32, 5}})
        for (const bool transposed_a : {false, true})
            for (const int init : {0, 1, 2}) {  // 0: overwrite, 1: accumulate, 2: start from row_init
                const bool accumulate = init == 1;
                SCOPED_TRACE("m " + std::to_string(s.m) + " n " + std::to_string(s.n) + " k " + std::to_string(s.k) +
                             (transposed_a ? " A^T" : "") + (accumulate ? " accumulate" : "") +
                             (init == 2 ? " row_init" : ""));
                const int64_t ldb = s.n + 3, ldc = s.n + 5;
                // A(i, p) at a[i * a_row + p * a_col]: rows of length k + 2, or columns of length m + 1.
                const int64_t a_row = transposed_a ? 1 : s.k + 2, a_col = transposed_a ? s.m + 1 : 1;
                const auto a = random_vector(transposed_a ? s.k * (s.m + 1) : s.m * (s.k + 2), 51);
                const auto b = random_vector(s.k * ldb, 52);
                const auto c0 = random_vector(s.m * ldc, 53);
                const auto bias = random_vector(s.n, 54);
                const float* row_init = init == 2 ? bias.data() : nullptr;
                auto got = c0, want = c0;
                dynrec::cpu::gemm_unpacked(s.m, s.n, s.k, a.data(), a_row, a_col, b.data(), ldb, got.data(), ldc,
                                           accumulate, row_init);
                dynrec::cpu::gemm_unpacked_reference(s.m, s.n, s.k, a.data(), a_row, a_col, b.data(), ldb,
                                                     want.data(), ldc, accumulate, row_init);
                EXPECT_TRUE(all_close(got, want, 1e-4f, 1e-4f));
                if (init == 2) {  // the same bits as copying the row into C and accumulating
                    auto copied = c0;
                    for (int64_t i = 0; i < s.m; ++i) std::copy(bias.begin(), bias.end(), copied.begin() + i * ldc);
                    dynrec::cpu::gemm_unpacked(s.m, s.n, s.k, a.data(), a_row, a_col, b.data(), ldb, copied.data(),
                                               ldc, true);
                    EXPECT_EQ(got, copied);
                }
                for (int64_t i = 0; i < s.m; ++i)  // the padding between C's rows is untouched
                    for (int64_t j = s.n; j < ldc; ++j) EXPECT_EQ(got[i * ldc + j], c0[i * ldc + j]);
            }
}

// A row's result does not depend on the tile that holds it (8, 4 or 1
// rows): each element is one chain of FMAs in p order, so the bits match the
// row computed alone.
TEST(GemmUnpacked, RowsGetTheSameBitsInAnyTile) {
    const int64_t n = 48, k = 37, ldb = n, ldc = n;
    const auto b = random_vector(k * ldb, 62);
    for (int64_t m = 1; m <= 15; ++m) {
        SCOPED_TRACE("m " + std::to_string(m));
        const auto a = random_vector(m * k, 61);
        std::vector<float> together(static_cast<size_t>(m * ldc)), alone(static_cast<size_t>(ldc));
        dynrec::cpu::gemm_unpacked(m, n, k, a.data(), k, 1, b.data(), ldb, together.data(), ldc, false);
        for (int64_t i = 0; i < m; ++i) {
            dynrec::cpu::gemm_unpacked(1, n, k, a.data() + i * k, k, 1, b.data(), ldb, alone.data(), ldc, false);
            EXPECT_TRUE(std::equal(alone.begin(), alone.end(), together.begin() + i * ldc)) << "row " << i;
        }
    }
}
