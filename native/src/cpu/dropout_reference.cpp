// dropout, naive: one Philox evaluation per element (the spec of cpu::dropout).
#include "cpu/dropout.h"

namespace dynrec::cpu {

void dropout_reference(int64_t n, const DropoutPlan& plan, const float* in, float* out) {
    for (int64_t i = 0; i < n; ++i) {
        float m[4];
        dropout_multipliers(plan, static_cast<uint64_t>(i) / 4, m);
        out[i] = in[i] * m[i % 4];
    }
}

}  // namespace dynrec::cpu
