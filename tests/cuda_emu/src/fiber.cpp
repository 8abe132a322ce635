// Fiber switching. On x86-64 a 16-instruction switch of the callee-saved
// registers: glibc's swapcontext makes a sigprocmask system call per switch,
// and the emulator switches at every barrier and warp collective of every
// thread. The floating-point control words (MXCSR, x87) are not switched: they
// are slow to reload and every fiber runs with the launching thread's (kernels
// do not change rounding modes). Elsewhere: ucontext. Under AddressSanitizer
// every switch is announced with __sanitizer_{start,finish}_switch_fiber so
// ASan knows which stack is live.
#include "fiber.h"

#include <pthread.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

// CUDA_EMU_ASAN: the runtime itself is built uninstrumented, the process runs under ASan.
#if defined(__SANITIZE_ADDRESS__) || defined(CUDA_EMU_ASAN)
#define EMU_ASAN 1
#include <sanitizer/common_interface_defs.h>
#endif

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace emu::fiber {

namespace {

#ifdef EMU_ASAN
constexpr size_t kStackBytes = size_t(1) << 20;  // ASan frames and its error reports are large
#else
constexpr size_t kStackBytes = size_t(256) << 10;
#endif
constexpr size_t kGuardBytes = 4096;

// The scheduler side (one launch at a time: the runtime serializes launches).
void* g_sched_fake = nullptr;
const void* g_sched_bottom = nullptr;  // the OS thread's stack, for ASan
size_t g_sched_size = 0;
Fiber* g_target = nullptr;  // the fiber being switched to (a fresh one finds its entry through it)

struct Start {
    void (*entry)(void*);
    void* arg;
};

const Start* start_of(const Fiber& f) { return reinterpret_cast<const Start*>(f.stack + f.stack_size - 64); }

inline void start_switch(void** fake_save, const void* bottom, size_t size) {
#ifdef EMU_ASAN
    __sanitizer_start_switch_fiber(fake_save, bottom, size);
#else
    (void)fake_save, (void)bottom, (void)size;
#endif
}

inline void finish_switch(void* fake) {
#ifdef EMU_ASAN
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
    (void)fake;
#endif
}

// ASan must be told the scheduler's stack when a fiber switches back to it.
void note_scheduler_stack() {
#ifdef EMU_ASAN
    thread_local const void* bottom = nullptr;
    thread_local size_t size = 0;
    if (!bottom) {
        pthread_attr_t attr;
        void* addr = nullptr;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            pthread_attr_getstack(&attr, &addr, &size);
            pthread_attr_destroy(&attr);
        }
        bottom = addr;
    }
    g_sched_bottom = bottom;
    g_sched_size = size;
#endif
}

void allocate(Fiber& f) {
    if (f.stack) return;
    static unsigned count = 0;
    void* p = mmap(nullptr, kStackBytes + kGuardBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        std::fprintf(stderr, "cuda_emu: cannot map a fiber stack\n");
        std::abort();
    }
    mprotect(p, kGuardBytes, PROT_NONE);  // overflow faults instead of corrupting a neighbour
    f.stack = static_cast<char*>(p) + kGuardBytes;
    // Stacks are page aligned: the same variable in every fiber would map to
    // one L1 set and thrash (lanes of a warp read each other's fragments).
    // A different 64-byte offset of the top per fiber spreads them out.
    f.stack_size = kStackBytes - (count++ % 64) * 64;
}

[[noreturn]] void run_entry() {
    finish_switch(nullptr);
    const Start* start = start_of(*g_target);
    start->entry(start->arg);
    std::fprintf(stderr, "cuda_emu: a fiber entry returned\n");
    std::abort();
}

}  // namespace

#if defined(__x86_64__)

extern "C" void emu_fiber_switch(void** save_sp, void* new_sp);
asm(R"(
    .text
    .p2align 4
    .globl emu_fiber_switch
    .hidden emu_fiber_switch
    .type emu_fiber_switch,@function
emu_fiber_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_fiber_switch,.-emu_fiber_switch
)");

namespace {
void* g_sched_sp = nullptr;
void* g_dead_sp = nullptr;  // where a finished fiber's last stack pointer goes
[[noreturn]] void trampoline() { run_entry(); }
}  // namespace

void prepare(Fiber& f, void (*entry)(void*), void* arg) {
    allocate(f);
    char* top = f.stack + f.stack_size;
    // The entry and its argument live just below the top; the initial frame below them.
    auto* start = reinterpret_cast<Start*>(top - 64);
    start->entry = entry;
    start->arg = arg;
    auto* slot = reinterpret_cast<uint64_t*>(top - 128);  // 16-byte aligned: return address of the first switch
    slot[1] = 0;                                           // fake caller of trampoline: ends backtraces
    slot[0] = reinterpret_cast<uint64_t>(&trampoline);
    uint64_t* sp = slot - 6;  // r15, r14, r13, r12, rbx, rbp (popped in that order), then the return address
    for (int i = 0; i < 6; ++i) sp[i] = 0;
    f.sp = sp;
    f.fake_stack = nullptr;
}

void resume(Fiber& f) {
    note_scheduler_stack();
    g_target = &f;
    start_switch(&g_sched_fake, f.stack, f.stack_size);
    emu_fiber_switch(&g_sched_sp, f.sp);
    finish_switch(g_sched_fake);
}

void yield(Fiber& self) {
    start_switch(&self.fake_stack, g_sched_bottom, g_sched_size);
    emu_fiber_switch(&self.sp, g_sched_sp);
    finish_switch(self.fake_stack);
}

void transfer(Fiber& self, Fiber& to) {
    g_target = &to;
    start_switch(&self.fake_stack, to.stack, to.stack_size);
    emu_fiber_switch(&self.sp, to.sp);
    finish_switch(self.fake_stack);
}

void finish(Fiber& self) {
    (void)self;
    start_switch(nullptr, g_sched_bottom, g_sched_size);  // NULL: ASan drops this fiber's fake stack
    emu_fiber_switch(&g_dead_sp, g_sched_sp);
    __builtin_unreachable();
}

void finish_to(Fiber& self, Fiber& to) {
    (void)self;
    g_target = &to;
    start_switch(nullptr, to.stack, to.stack_size);
    emu_fiber_switch(&g_dead_sp, to.sp);
    __builtin_unreachable();
}

#else  // portable fallback

namespace {
ucontext_t g_sched_ctx;
ucontext_t g_dead_ctx;
void trampoline_uc() { run_entry(); }
ucontext_t* ctx(Fiber& f) { return static_cast<ucontext_t*>(f.context); }
}  // namespace

void prepare(Fiber& f, void (*entry)(void*), void* arg) {
    allocate(f);
    if (!f.context) f.context = new ucontext_t;
    auto* start = reinterpret_cast<Start*>(f.stack + f.stack_size - 64);
    start->entry = entry;
    start->arg = arg;
    getcontext(ctx(f));
    ctx(f)->uc_stack.ss_sp = f.stack;
    ctx(f)->uc_stack.ss_size = f.stack_size - 128;
    ctx(f)->uc_link = nullptr;
    makecontext(ctx(f), &trampoline_uc, 0);
    f.fake_stack = nullptr;
}

void resume(Fiber& f) {
    note_scheduler_stack();
    g_target = &f;
    start_switch(&g_sched_fake, f.stack, f.stack_size);
    swapcontext(&g_sched_ctx, ctx(f));
    finish_switch(g_sched_fake);
}

void yield(Fiber& self) {
    start_switch(&self.fake_stack, g_sched_bottom, g_sched_size);
    swapcontext(ctx(self), &g_sched_ctx);
    finish_switch(self.fake_stack);
}

void transfer(Fiber& self, Fiber& to) {
    g_target = &to;
    start_switch(&self.fake_stack, to.stack, to.stack_size);
    swapcontext(ctx(self), ctx(to));
    finish_switch(self.fake_stack);
}

void finish(Fiber& self) {
    (void)self;
    start_switch(nullptr, g_sched_bottom, g_sched_size);
    swapcontext(&g_dead_ctx, &g_sched_ctx);
    __builtin_unreachable();
}

void finish_to(Fiber& self, Fiber& to) {
    (void)self;
    g_target = &to;
    start_switch(nullptr, to.stack, to.stack_size);
    swapcontext(&g_dead_ctx, ctx(to));
    __builtin_unreachable();
}

#endif

void release(Fiber& f) {
    if (f.stack) munmap(f.stack - kGuardBytes, kStackBytes + kGuardBytes);  // the mapping, whatever the offset
#if !defined(__x86_64__)
    delete static_cast<ucontext_t*>(f.context);
#endif
    f = Fiber{};
}

}  // namespace emu::fiber
