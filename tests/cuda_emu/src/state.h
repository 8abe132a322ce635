// Runtime state the emulator's parts share (src/runtime.cpp owns it).
#pragma once

#include <cstddef>

namespace emu {

int device_count();        // CUDA_EMU_DEVICES, default 2
int current_device();      // per host thread, like cudaSetDevice
int compute_capability();  // CUDA_EMU_CC, default 90 (so the TF32 WMMA paths run)
// Device owning the allocation that holds `ptr` (one past its end allowed:
// kernels may get end pointers they never dereference), or -1.
int device_of_pointer(const void* ptr);
// Dynamic shared memory a launch on `device` may use: 48 KB, or more once a
// kernel opted in (cudaFuncSetAttribute MaxDynamicSharedMemorySize). The
// opt-in is kept per device, not per kernel: the emulator's launches do not
// know their kernel's address (see README).
size_t dynamic_shared_limit(int device);

}  // namespace emu
