// See row_groups.cuh. A grid-stride kernel: one thread per output element.
#include "cuda/common.cuh"
#include "cuda/row_groups.cuh"

namespace dynrec::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void sum_row_groups_kernel(int64_t n, int64_t rows_per_group, int64_t cols, const float* __restrict__ in,
                                      float* __restrict__ out, bool accumulate) {
    DYNREC_CUDA_FOR(t, n) {
        const int64_t g = t / cols, c = t - g * cols;
        const float* src = in + g * rows_per_group * cols + c;
        float sum = accumulate ? out[t] : 0.0f;
        for (int64_t r = 0; r < rows_per_group; ++r) sum += src[r * cols];
        out[t] = sum;
    }
}

}  // namespace

void sum_row_groups(void* stream, int64_t groups, int64_t rows_per_group, int64_t cols, const float* in, float* out,
                    bool accumulate) {
    const int64_t n = groups * cols;
    sum_row_groups_kernel<<<blocks_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(n, rows_per_group, cols, in,
                                                                                        out, accumulate);
    check_launch("sum_row_groups_kernel");
}

}  // namespace dynrec::cuda
