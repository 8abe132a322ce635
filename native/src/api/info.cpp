// Library-wide exports: version, build description, device count, threads.
#include <string>

#include "cpu/cpu_features.h"

#include "common/cuda_runtime_probe.h"
#include "common/error.h"
#include "common/validate.h"
#include "cpu/parallel.h"

#ifndef DYNREC_VERSION_STRING
#define DYNREC_VERSION_STRING "0.0.0"
#endif

namespace {

std::string describe_build() {
    std::string s = "dynrec " DYNREC_VERSION_STRING;
    s += "; cpu: x86-64 gemm 8x32/8x16 micro-kernels avx512f/x86-64-v3/baseline (in use: ";
    // The same tests the loader's clone resolvers make (DYNREC_AVX2_CLONES).
    s += dynrec::cpu::use_avx512()                    ? "avx512f)"
         : __builtin_cpu_supports("x86-64-v3") ? "x86-64-v3)"
                                                : "baseline)";
#ifdef _OPENMP
    s += "; openmp: " + std::to_string(_OPENMP);
#else
    s += "; openmp: off";
#endif
    if (dynrec::cuda_compiled())
        s += std::string("; cuda: on (arches ") + dynrec::cuda_arch_list() + ")";
    else
        s += "; cuda: off";
#ifdef DYNREC_SANITIZE
    s += "; sanitizers: on";
#endif
    return s;
}

}  // namespace

extern "C" {

DYNREC_API const char* dynrec_version(void) { return DYNREC_VERSION_STRING; }

DYNREC_API const char* dynrec_build_info(void) {
    static const std::string info = describe_build();
    return info.c_str();
}

DYNREC_API dynrec_status dynrec_cuda_device_count(int32_t* count) {
    return dynrec::guard(__func__, [&] {
        dynrec::check_not_null("count", count);
        *count = dynrec::cuda_device_count();
    });
}

DYNREC_API dynrec_status dynrec_set_num_threads(int32_t n) {
    return dynrec::guard(__func__, [&] { dynrec::cpu::set_threads(n); });
}

DYNREC_API dynrec_status dynrec_get_num_threads(int32_t* n) {
    return dynrec::guard(__func__, [&] {
        dynrec::check_not_null("n", n);
        *n = dynrec::cpu::max_threads();
    });
}

}  // extern "C"
