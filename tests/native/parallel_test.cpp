// The OpenMP helpers: every item of the range is handed out exactly once,
// in the pieces asked for (or whole, when run inline), at any thread count,
// and nested calls run inline.
// Compiled from the library's source (the library exports only the C ABI).
#include <atomic>
#include <vector>

#include <gtest/gtest.h>

#include "cpu/parallel.h"

namespace {

using dynrec::cpu::parallel_for;
using dynrec::cpu::parallel_for_dynamic;
using dynrec::cpu::set_threads;

TEST(ParallelForDynamic, HandsOutEveryItemOnceInPiecesOfTheChunk) {
    for (int threads : {1, 2, 3, 8})
        for (int64_t n : {0, 1, 7, 64, 1001})
            for (int64_t chunk : {1, 3, 16, 5000}) {
                set_threads(threads);
                std::vector<std::atomic<int>> seen(static_cast<size_t>(n) + 10);
                std::atomic<int> bad_piece{0}, calls{0};
                parallel_for_dynamic(10, 10 + n, chunk, [&](int64_t lo, int64_t hi) {
                    // Inline (one thread, or a single piece) the whole range comes as one call.
                    const bool whole = lo == 10 && hi == 10 + n;
                    if (lo < 10 || hi > 10 + n || (!whole && (hi - lo > chunk || (lo - 10) % chunk != 0))) bad_piece++;
                    for (int64_t i = lo; i < hi; ++i) seen[static_cast<size_t>(i)]++;
                    calls++;
                });
                set_threads(0);
                EXPECT_EQ(bad_piece.load(), 0) << "threads=" << threads << " n=" << n << " chunk=" << chunk;
                const int64_t pieces = (n + chunk - 1) / chunk;
                if (threads > 1 && pieces > 1) {  // shared out: one call per piece
                    EXPECT_EQ(calls.load(), pieces) << "threads=" << threads << " n=" << n << " chunk=" << chunk;
                }
                for (int64_t i = 0; i < n + 10; ++i)
                    ASSERT_EQ(seen[static_cast<size_t>(i)].load(), i >= 10 ? 1 : 0)
                        << "item " << i << " threads=" << threads << " n=" << n << " chunk=" << chunk;
            }
}

TEST(ParallelForDynamic, RunsInlineInsideAParallelRegion) {
    set_threads(2);
    std::atomic<int> calls{0};
    parallel_for(0, 2, 1, [&](int64_t, int64_t) {
        parallel_for_dynamic(0, 100, 1, [&](int64_t lo, int64_t hi) {
            EXPECT_EQ(hi - lo, 100);  // inline: one call with the whole range
            calls++;
        });
    });
    set_threads(0);
    EXPECT_GE(calls.load(), 1);
}

}  // namespace
