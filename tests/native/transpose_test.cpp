// cpu/transpose against the naive loops: whole 16 x 16 blocks, edges in either
// dimension, padded leading dimensions, and the destination's padding left
// alone. Runs again as transpose.without_avx512 (the blocked scalar path).
// Compiled from the library's sources (the library exports only the C ABI).
#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

#include "cpu/transpose.h"
#include "test_util.h"

namespace {

using dynrec_test::random_vector;

void check_transpose(int64_t rows, int64_t cols, int64_t pad_src, int64_t pad_dst) {
    SCOPED_TRACE(::testing::Message() << rows << " x " << cols << " pad " << pad_src << "/" << pad_dst);
    const int64_t ld_src = cols + pad_src, ld_dst = rows + pad_dst;
    const auto src = random_vector(std::max<int64_t>(1, rows * ld_src), 3);
    // Both outputs start from the same sentinel so the padding must stay untouched.
    std::vector<float> got(static_cast<size_t>(std::max<int64_t>(1, cols * ld_dst)), -7.0f), want = got;
    dynrec::cpu::transpose(rows, cols, src.data(), ld_src, got.data(), ld_dst);
    dynrec::cpu::transpose_reference(rows, cols, src.data(), ld_src, want.data(), ld_dst);
    EXPECT_EQ(got, want);  // a copy: bit-exact
}

TEST(Transpose, MatchesTheNaiveLoopsOnWholeBlocksAndEdges) {
    for (int64_t rows : {1, 5, 16, 17, 31, 48, 64})
        for (int64_t cols : {1, 3, 16, 19, 32, 33})
            for (int64_t pad : {0, 3}) check_transpose(rows, cols, pad, pad == 0 ? 0 : 5);
}

TEST(Transpose, GeneratorLayoutShapes) {
    // hyper_grouped's layouts: [area, n_cond] -> [n_cond, area] (ld_dst = area), and the
    // per-b slices of S^T's order (ld_src = n_out * n_cond).
    check_transpose(4096, 16, 0, 0);
    check_transpose(1000, 13, 0, 0);
    check_transpose(64, 16, 64 * 16 - 16, 64 * 64 - 64);
    check_transpose(37, 11, 29 * 11 - 11, 37 * 29 - 37);
}

TEST(Transpose, EmptyShapesWriteNothing) {
    std::vector<float> src(4, 1.0f), dst(4, -1.0f);
    dynrec::cpu::transpose(0, 4, src.data(), 4, dst.data(), 1);
    dynrec::cpu::transpose(4, 0, src.data(), 1, dst.data(), 4);
    EXPECT_EQ(dst, std::vector<float>(4, -1.0f));
}

}  // namespace
