// sgemm (packed and small-m paths) against the naive reference loops: every
// transpose combination, beta 0 / 1 / other, padded leading dimensions, sizes
// off the 8 x 16 tiles, 1 and several threads, and C holding NaN when beta == 0.
// Compiled from the library's sources (the library exports only the C ABI).
#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "cpu/gemm.h"
#include "cpu/gemm_small_m.h"
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

TEST(Sgemm, PackedPathMatchesReference) {
    const Shape shapes[] = {{33, 17, 5}, {97, 130, 257}, {200, 16, 600}, {65, 2100, 3}};
    for (bool ta : {false, true})
        for (bool tb : {false, true})
            for (const Shape& s : shapes)
                for (float beta : {0.0f, 1.0f, 2.0f}) check_gemm(ta, tb, s, -1.25f, beta, 2);
}

TEST(Sgemm, SmallMPathTakesOnlyItsShapes) {
    std::vector<float> a(64 * 64, 1.0f), b(64 * 64, 1.0f), c(64 * 64, 0.0f);
    EXPECT_TRUE(dynrec::cpu::sgemm_small_m(false, false, 32, 64, 64, 1.0f, a.data(), 64, b.data(), 64, 0.0f, c.data(), 64));
    EXPECT_FALSE(dynrec::cpu::sgemm_small_m(false, false, 33, 64, 64, 1.0f, a.data(), 64, b.data(), 64, 0.0f, c.data(), 64));
    EXPECT_FALSE(dynrec::cpu::sgemm_small_m(false, true, 8, 64, 0, 1.0f, a.data(), 64, b.data(), 64, 0.0f, c.data(), 64));
    EXPECT_FALSE(dynrec::cpu::sgemm_small_m(true, true, 8, 64, 64, 0.0f, a.data(), 64, b.data(), 64, 0.0f, c.data(), 64));
}

}  // namespace
