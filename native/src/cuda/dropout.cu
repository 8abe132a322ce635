#include "cuda/common.cuh"
#include "cuda/dropout.cuh"

namespace dynrec::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void dropout_kernel(int64_t n, DropoutPlan plan, const float* in, float* out) {
    const int64_t blocks = (n + 3) / 4;
    DYNREC_CUDA_FOR(c, blocks) {
        float m[4];
        dropout_multipliers(plan, static_cast<uint64_t>(c), m);
        const int64_t e0 = 4 * c;
        for (int k = 0; k < 4 && e0 + k < n; ++k) out[e0 + k] = in[e0 + k] * m[k];
    }
}

}  // namespace

void dropout(void* stream, int64_t n, const DropoutPlan& plan, const float* in, float* out) {
    const int64_t blocks = (n + 3) / 4;
    dropout_kernel<<<blocks_for(blocks, kThreads), kThreads, 0, as_stream(stream)>>>(n, plan, in, out);
    check_launch("dropout_kernel");
}

}  // namespace dynrec::cuda
