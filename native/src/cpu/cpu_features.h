// Which instruction set the CPU kernels' explicitly dispatched paths use.
#pragma once

namespace dynrec::cpu {

// True when the CPU has AVX-512F and DYNREC_CPU_AVX512 is not "0" (read once).
// The override lets the tests run the AVX2 / baseline clones on an AVX-512
// machine, the paths a CPU without AVX-512 would take.
bool use_avx512() noexcept;

// The AVX2 + FMA / baseline clones of a kernel's non-AVX-512 version, picked
// by the loader. "arch=x86-64-v3" is dispatched on the CPU's features; GCC's
// "arch=haswell" clone is dispatched on the CPU *model* and so ran only on
// Haswell itself: every other AVX2 CPU got the SSE baseline.
#define DYNREC_AVX2_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))

}  // namespace dynrec::cpu
