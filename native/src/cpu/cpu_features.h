// Which instruction set the CPU kernels' explicitly dispatched paths use.
#pragma once

namespace dynrec::cpu {

// True when the CPU has AVX-512F and DYNREC_CPU_AVX512 is not "0" (read once).
// The override lets the tests run the AVX2 / baseline clones on an AVX-512
// machine, the paths a CPU without AVX-512 would take.
bool use_avx512() noexcept;

}  // namespace dynrec::cpu
