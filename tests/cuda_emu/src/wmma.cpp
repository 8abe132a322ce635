// Out-of-line checks of the emulated nvcuda::wmma (include/mma.h).
#include <mma.h>

namespace nvcuda::wmma::detail {

void check_pointer(const void* ptr, unsigned ldm, const char* what) {
    if (reinterpret_cast<uintptr_t>(ptr) % 32 != 0)
        emu::fatal("wmma::%s: pointer %p is not 256-bit (32-byte) aligned", what, ptr);
    if (ldm % 4 != 0) emu::fatal("wmma::%s: ldm %u is not a multiple of 4 floats (16 bytes)", what, ldm);
}

void partial_warp(unsigned participants) {
    emu::fatal("wmma::mma_sync: all 32 lanes of the warp must take part (lanes 0x%08x did)", participants);
}

}  // namespace nvcuda::wmma::detail
