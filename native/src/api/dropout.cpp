// dropout exports: validate every argument, then dispatch to CPU or CUDA.
#include <cstdint>
#include <string>

#include "common/dropout_plan.h"
#include "common/error.h"
#include "common/validate.h"
#include "cpu/dropout.h"
#if DYNREC_WITH_CUDA
#include "cuda/dropout.cuh"
#endif

using namespace dynrec;

namespace {

void check_dropout_args(int64_t n, float p, const float* in, const float* out) {
    check_non_negative("n", n);
    checked_elements("in [n]", {n});
    check_finite("p", p);
    if (p < 0.0f || p > 1.0f) throw_invalid("p: " + std::to_string(p) + " is outside [0, 1]");
    if (n == 0) return;
    check_not_null("in", in);
    check_not_null("out", out);
    // In place is fine (each element is read, then written, by one thread); a shifted overlap is not.
    const auto a = reinterpret_cast<uintptr_t>(in), b = reinterpret_cast<uintptr_t>(out);
    const auto bytes = static_cast<uintptr_t>(n) * sizeof(float);
    if (a != b && a < b + bytes && b < a + bytes) throw_invalid("out: overlaps in without being in (in place)");
}

}  // namespace

extern "C" {

DYNREC_API dynrec_status dynrec_dropout(int32_t device, void* stream, int64_t n, float p, uint64_t seed,
                                        const float* in, float* out) {
    return guard(__func__, [&] {
        check_device(device);
        check_dropout_args(n, p, in, out);
        if (n == 0) return;
        check_locations(device, {{"in", in}, {"out", out}});
        const DropoutPlan plan = make_dropout_plan(p, seed);
        if (device == DYNREC_DEVICE_CUDA) {
#if DYNREC_WITH_CUDA
            cuda::dropout(stream, n, plan, in, out);
#endif
            return;
        }
        (void)stream;
        cpu::dropout(n, plan, in, out);
    });
}

DYNREC_API dynrec_status dynrec_dropout_reference(int64_t n, float p, uint64_t seed, const float* in, float* out) {
    return guard(__func__, [&] {
        check_dropout_args(n, p, in, out);
        if (n == 0) return;
        check_locations(DYNREC_DEVICE_CPU, {{"in", in}, {"out", out}});
        cpu::dropout_reference(n, make_dropout_plan(p, seed), in, out);
    });
}

}  // extern "C"
