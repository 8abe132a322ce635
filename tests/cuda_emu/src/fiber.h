// Cooperative fibers: one per emulated CUDA thread, all on the calling OS
// thread, switched only at barriers, warp collectives and thread exit
// (deterministic). Stacks are reused across blocks and launches.
#pragma once

#include <cstddef>

namespace emu::fiber {

struct Fiber {
    void* sp = nullptr;  // saved stack pointer (x86-64 switch)
    char* stack = nullptr;
    size_t stack_size = 0;       // usable bytes below the top, which is staggered per fiber
    void* fake_stack = nullptr;  // ASan's per-fiber fake stack (use-after-return mode)
    void* context = nullptr;     // ucontext_t when the portable fallback is used
};

// Prepares `f` (stack allocated on first use) to run `entry(arg)` when next
// switched to. `entry` must never return: it ends with finish() / finish_to().
void prepare(Fiber& f, void (*entry)(void*), void* arg);

// From the scheduler: runs fibers from `f` on until one yields back.
void resume(Fiber& f);

// From inside fiber `self`: to the scheduler, or straight to fiber `to`
// (one switch instead of two); returns when `self` is switched to again.
void yield(Fiber& self);
void transfer(Fiber& self, Fiber& to);

// From inside fiber `self`, for good (it may be prepared again).
[[noreturn]] void finish(Fiber& self);
[[noreturn]] void finish_to(Fiber& self, Fiber& to);

// Releases the stack.
void release(Fiber& f);

}  // namespace emu::fiber
