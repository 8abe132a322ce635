// Multi-tensor Adam optimized: every tensor is cut into chunks of kChunk
// elements; one OpenMP loop runs over the chunk list (small tensors cost one
// chunk, large ones spread over all threads), the inner loop is branch-free
// and vectorizes (AVX-512 / AVX2 clones). The clipping norm sums each chunk in
// double and combines the partials in chunk order, so it does not depend on
// the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/cpu_features.h"
#include "cpu/optimizer.h"
#include "cpu/parallel.h"

namespace dynrec::cpu {

namespace {

constexpr int64_t kChunk = 16384;

struct Chunk {
    int64_t tensor, begin, end;
};

std::vector<Chunk> make_chunks(int64_t n, const int64_t* numels) {
    std::vector<Chunk> chunks;
    for (int64_t t = 0; t < n; ++t)
        for (int64_t b = 0; b < numels[t]; b += kChunk) chunks.push_back({t, b, std::min(numels[t], b + kChunk)});
    return chunks;
}

template <bool Decoupled, bool L2>
inline __attribute__((always_inline)) void update(float* __restrict p, const float* __restrict gr,
                                                  float* __restrict m, float* __restrict v, int64_t n, float clip,
                                                  const AdamScalars& s) {
    const float neg_step = -s.step_size;
    for (int64_t i = 0; i < n; ++i) {
        float g = gr[i] * clip;
        float pi = p[i];
        if (Decoupled) pi = pi * s.decay;
        if (L2) g = g + s.l2 * pi;
        const float mi = m[i] * s.beta1 + s.one_minus_beta1 * g;
        const float vi = v[i] * s.beta2 + s.one_minus_beta2 * g * g;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi + neg_step * (mi / (std::sqrt(vi) / s.bc2_sqrt + s.eps));
    }
}

// The update's sqrt and two divisions per element bound it by arithmetic, not
// memory, when compiled for baseline x86-64 (4 lanes): an AVX-512 build and
// AVX2 / baseline clones of each loop (16 / 8 / 4 lanes), picked at run time
// (use_avx512, so the tests can run the AVX2 clones too). Each element is
// still computed on its own, in the same order.
enum class AdamVariant { plain, l2, decoupled };

template <AdamVariant V>
inline __attribute__((always_inline)) void update_variant(float* __restrict p, const float* __restrict g,
                                                          float* __restrict m, float* __restrict v, int64_t n,
                                                          float clip, const AdamScalars& s) {
    update<V == AdamVariant::decoupled, V == AdamVariant::l2>(p, g, m, v, n, clip, s);
}

#define DYNREC_ADAM_UPDATE(VARIANT)                                                                              \
    __attribute__((target("avx512f"))) void update_##VARIANT##_avx512(                                          \
        float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t n,     \
        float clip, const AdamScalars& s) {                                                                      \
        update_variant<AdamVariant::VARIANT>(p, g, m, v, n, clip, s);                                            \
    }                                                                                                            \
    DYNREC_AVX2_CLONES void update_##VARIANT##_generic(                  \
        float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t n,     \
        float clip, const AdamScalars& s) {                                                                      \
        update_variant<AdamVariant::VARIANT>(p, g, m, v, n, clip, s);                                            \
    }
DYNREC_ADAM_UPDATE(plain)
DYNREC_ADAM_UPDATE(l2)
DYNREC_ADAM_UPDATE(decoupled)
#undef DYNREC_ADAM_UPDATE

// Sum of squares of one chunk in double, as 8 interleaved partial sums added
// in a fixed order (one running sum would be a chain of dependent adds).
inline __attribute__((always_inline)) double sum_squares_body(const float* __restrict g, int64_t n) {
    double acc[8] = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) acc[j] += double(g[i + j]) * double(g[i + j]);
    double total = 0.0;
    for (int j = 0; j < 8; ++j) total += acc[j];
    for (; i < n; ++i) total += double(g[i]) * double(g[i]);
    return total;
}
__attribute__((target("avx512f"))) double sum_squares_avx512(const float* __restrict g, int64_t n) {
    return sum_squares_body(g, n);
}
DYNREC_AVX2_CLONES double sum_squares_generic(const float* __restrict g,
                                                                                     int64_t n) {
    return sum_squares_body(g, n);
}
double sum_squares(const float* g, int64_t n) {
    return use_avx512() ? sum_squares_avx512(g, n) : sum_squares_generic(g, n);
}

}  // namespace

void adam_step(int64_t n, float* const* params, const float* const* grads, float* const* exp_avgs,
               float* const* exp_avg_sqs, const int64_t* numels, const AdamConfig& c, float* grad_norm_out) {
    const std::vector<Chunk> chunks = make_chunks(n, numels);
    const int64_t nc = static_cast<int64_t>(chunks.size());
    float clip = 1.0f;
    if (c.max_grad_norm > 0.0) {
        std::vector<double> partial(static_cast<size_t>(nc), 0.0);
        parallel_for(0, nc, 1, [&](int64_t c0, int64_t c1) {
            for (int64_t k = c0; k < c1; ++k) {
                partial[k] = sum_squares(grads[chunks[k].tensor] + chunks[k].begin, chunks[k].end - chunks[k].begin);
            }
        });
        double sq = 0.0;
        for (double x : partial) sq += x;
        const double norm = std::sqrt(sq);
        clip = clip_coefficient(c.max_grad_norm, norm);
        if (grad_norm_out) *grad_norm_out = float(norm);
    }
    const AdamScalars s = adam_scalars(c);
    const bool l2 = !c.decoupled && c.weight_decay != 0.0;
    parallel_for(0, nc, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t k = c0; k < c1; ++k) {
            const Chunk& ch = chunks[k];
            const int64_t t = ch.tensor, b = ch.begin, len = ch.end - ch.begin;
            float* p = params[t] + b;
            const float* g = grads[t] + b;
            float* m = exp_avgs[t] + b;
            float* v = exp_avg_sqs[t] + b;
            const bool wide = use_avx512();
            if (c.decoupled) (wide ? update_decoupled_avx512 : update_decoupled_generic)(p, g, m, v, len, clip, s);
            else if (l2) (wide ? update_l2_avx512 : update_l2_generic)(p, g, m, v, len, clip, s);
            else (wide ? update_plain_avx512 : update_plain_generic)(p, g, m, v, len, clip, s);
        }
    });
}

}  // namespace dynrec::cpu
