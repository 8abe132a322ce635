#include "cpu/reduce.h"

#include <algorithm>
#include <vector>

#include "cpu/parallel.h"

namespace dynrec::cpu {

void column_sums(int64_t rows, int64_t cols, const float* m, float* out) {
    // Fixed-size row chunks (independent of the thread count) summed in
    // double, then combined in chunk order: bitwise reproducible.
    constexpr int64_t kChunk = 256;
    const int64_t chunks = (rows + kChunk - 1) / kChunk;
    std::vector<double> partial(static_cast<size_t>(chunks * cols), 0.0);
    parallel_for(0, chunks, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            double* acc = partial.data() + c * cols;
            const int64_t r_end = std::min(rows, (c + 1) * kChunk);
            for (int64_t r = c * kChunk; r < r_end; ++r)
                for (int64_t j = 0; j < cols; ++j) acc[j] += m[r * cols + j];
        }
    });
    for (int64_t j = 0; j < cols; ++j) {
        double s = 0.0;
        for (int64_t c = 0; c < chunks; ++c) s += partial[c * cols + j];
        out[j] = float(s);
    }
}

}  // namespace dynrec::cpu
