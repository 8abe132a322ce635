#include "cpu/cpu_features.h"

#include <cstdlib>
#include <cstring>

namespace dynrec::cpu {

bool use_avx512() noexcept {
    static const bool yes = [] {
        const char* forced = std::getenv("DYNREC_CPU_AVX512");
        if (forced != nullptr && std::strcmp(forced, "0") == 0) return false;
        return __builtin_cpu_supports("avx512f") != 0;
    }();
    return yes;
}

}  // namespace dynrec::cpu
