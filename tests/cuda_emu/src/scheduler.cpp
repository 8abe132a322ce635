// Kernel execution: blocks one after another (in a seeded pseudo-random
// order), each block's threads as fibers on the calling OS thread. A thread
// runs until it reaches a barrier or a warp collective, then the next ready
// thread runs; ready threads are shuffled (seeded) every round, so a missing
// __syncthreads() makes results depend on the order and show as mismatches.
// __syncthreads() releases when every live thread of the block has arrived
// (threads that returned no longer count, as on the hardware); warp
// collectives release when every live lane named in the mask has arrived.
// Divergent barriers, lanes in different collectives and deadlocks are fatal.
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "cuda_emu/device.h"
#include "fiber.h"
#include "state.h"

#if defined(__SANITIZE_ADDRESS__) || defined(CUDA_EMU_ASAN)
#include <sanitizer/asan_interface.h>
#define EMU_ASAN_REPORTS 1
#endif

uint3 threadIdx;
uint3 blockIdx;
dim3 blockDim;
dim3 gridDim;

namespace emu {

namespace detail {

namespace {

enum class State { Ready, AtBarrier, AtWarp, Done };

struct Thread {
    uint3 idx;
    int linear, warp, lane;
    State state;
};

struct Warp {
    unsigned live = 0, arrived = 0, mask = 0;
    const char* what = nullptr;
    WarpComplete complete = nullptr;
    uint64_t gen = 0;
    uint64_t values[2][32];
    unsigned participants[2];
};

constexpr size_t kStaticSharedLimit = 48 * 1024;

// A block's dynamic shared memory starts 128-byte aligned, as it does at the base of a GPU
// block's shared window (wmma needs 32-byte aligned pointers into it); exact size, so ASan
// still sees an overrun.
template <class T>
struct SharedAllocator {
    using value_type = T;
    static constexpr std::align_val_t kAlign{128};
    SharedAllocator() = default;
    template <class U>
    SharedAllocator(const SharedAllocator<U>&) noexcept {}
    T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
    void deallocate(T* p, size_t) noexcept { ::operator delete(p, kAlign); }
    bool operator==(const SharedAllocator&) const noexcept { return true; }
};

struct Launch {
    const Site* site = nullptr;
    const LaunchConfig* cfg = nullptr;
    void (*body)(void*) = nullptr;
    void* ctx = nullptr;
    int threads_per_block = 0;
    std::vector<Thread> threads;
    std::vector<Warp> warps;
    int live = 0;
    int bar_arrived = 0;
    const char* bar_file = nullptr;
    int bar_line = 0;
    std::vector<Thread*> bar_waiters, ready, next;
    size_t cursor = 0;  // next in `ready` to run this round
    Thread* current = nullptr;
    std::vector<char, SharedAllocator<char>> dynamic_shared;
    size_t static_shared = 0;
};

std::mutex g_launch_mutex;  // one grid at a time: shared memory and these globals are per process
Launch g;
std::vector<fiber::Fiber> g_fibers;  // stacks reused across blocks and launches
uint64_t g_launch_serial = 0, g_block_serial = 0;
struct SharedSeen {
    uint64_t launch, block;
};
std::unordered_map<void*, SharedSeen> g_shared_seen;

// Seeded (CUDA_EMU_SEED) so a failing order can be replayed; CUDA_EMU_SHUFFLE=0 runs in index order.
uint64_t g_rng = [] {
    const char* s = std::getenv("CUDA_EMU_SEED");
    return s ? std::strtoull(s, nullptr, 0) * 0x9E3779B97F4A7C15ull + 1 : 0x2545F4914F6CDD1Dull;
}();
const bool g_shuffle = [] {
    const char* s = std::getenv("CUDA_EMU_SHUFFLE");
    return !(s && std::strcmp(s, "0") == 0);
}();
const bool g_trace = [] {  // CUDA_EMU_TRACE=1: one stderr line per launch
    const char* s = std::getenv("CUDA_EMU_TRACE");
    return s && std::strcmp(s, "1") == 0;
}();

uint64_t next_random() {
    g_rng ^= g_rng >> 12, g_rng ^= g_rng << 25, g_rng ^= g_rng >> 27;
    return g_rng * 0x2545F4914F6CDD1Dull;
}

Thread& self() {
    if (!g.current) fatal("a device function (barrier, warp collective, __shared__) was called outside a kernel");
    return *g.current;
}

void wake(Thread* t) {
    t->state = State::Ready;
    g.next.push_back(t);
}

void release_barrier() {
    for (Thread* t : g.bar_waiters) wake(t);
    g.bar_waiters.clear();
    g.bar_arrived = 0;
}

void try_complete(Warp& w) {
    const unsigned required = w.mask & w.live;
    if (w.arrived == 0 || (w.arrived & required) != required) return;
    const int slot = static_cast<int>(w.gen & 1);
    w.participants[slot] = w.arrived;
    for (int l = 0; l < 32; ++l)
        if (!(w.arrived >> l & 1u)) w.values[slot][l] = ~uint64_t(0);  // reading a non-participant: garbage
    if (w.complete) w.complete(w.values[slot], w.arrived);
    const int base = static_cast<int>(&w - g.warps.data()) * 32;
    for (int l = 0; l < 32; ++l)
        if (w.arrived >> l & 1u) wake(&g.threads[static_cast<size_t>(base + l)]);
    w.arrived = 0;
    ++w.gen;
}

fiber::Fiber& fiber_of(const Thread& t) { return g_fibers[static_cast<size_t>(t.linear)]; }

// The round's next thread (NULL when the round is over), made current.
Thread* next_ready() {
    if (g.cursor == g.ready.size()) return nullptr;
    Thread* t = g.ready[g.cursor++];
    g.current = t;
    threadIdx = t->idx;
    return t;
}

// A thread that cannot go on hands the CPU straight to the round's next
// thread (one fiber switch), or back to the scheduler at the round's end.
void wait(Thread& t) {
    if (Thread* n = next_ready()) fiber::transfer(fiber_of(t), fiber_of(*n));
    else fiber::yield(fiber_of(t));
}

void thread_main(void* arg) {
    Thread& t = *static_cast<Thread*>(arg);
    g.body(g.ctx);
    t.state = State::Done;
    --g.live;
    Warp& w = g.warps[static_cast<size_t>(t.warp)];
    w.live &= ~(1u << t.lane);
    if (g.bar_arrived > 0 && g.bar_arrived == g.live) release_barrier();
    try_complete(w);
    if (Thread* n = next_ready()) fiber::finish_to(fiber_of(t), fiber_of(*n));
    fiber::finish(fiber_of(t));
}

const char* state_name(State s) {
    switch (s) {
        case State::Ready: return "ready";
        case State::AtBarrier: return "__syncthreads";
        case State::AtWarp: return "warp collective";
        default: return "exited";
    }
}

[[noreturn]] void deadlock() {
    std::string who;
    int shown = 0;
    for (const Thread& t : g.threads) {
        if (t.state == State::Done || shown == 8) continue;
        ++shown;
        const Warp& w = g.warps[static_cast<size_t>(t.warp)];
        who += " thread (" + std::to_string(t.idx.x) + "," + std::to_string(t.idx.y) + "," +
               std::to_string(t.idx.z) + ") at " + state_name(t.state) +
               (t.state == State::AtWarp ? std::string(" ") + w.what : std::string()) + ";";
    }
    g.current = nullptr;
    fatal("deadlock: %d live threads of the block wait and none can proceed (a barrier or warp collective "
          "that not every named thread reaches):%s",
          g.live, who.c_str());
}

void run_block() {
    ++g_block_serial;
    const int n = g.threads_per_block;
    const unsigned bx = g.cfg->block.x, by = g.cfg->block.y;
    g.live = n;
    g.bar_arrived = 0;
    g.bar_waiters.clear();
    for (size_t w = 0; w < g.warps.size(); ++w) {
        const int lanes = n - static_cast<int>(w) * 32 >= 32 ? 32 : n - static_cast<int>(w) * 32;
        g.warps[w].live = lanes == 32 ? ~0u : (1u << lanes) - 1;
        g.warps[w].arrived = 0;
        g.warps[w].gen = 0;
    }
    g.ready.clear();
    g.next.clear();
    for (int i = 0; i < n; ++i) {
        Thread& t = g.threads[static_cast<size_t>(i)];
        const unsigned u = static_cast<unsigned>(i);
        t.idx = uint3{u % bx, (u / bx) % by, u / (bx * by)};
        t.linear = i;
        t.warp = i / 32;
        t.lane = i % 32;
        t.state = State::Ready;
        fiber::prepare(fiber_of(t), &thread_main, &t);
        g.ready.push_back(&t);
    }
    if (!g.dynamic_shared.empty()) std::memset(g.dynamic_shared.data(), 0xFF, g.dynamic_shared.size());
    while (!g.ready.empty()) {
        if (g_shuffle)
            for (size_t i = g.ready.size(); i > 1; --i)  // Fisher-Yates; multiply-shift instead of a division
                std::swap(g.ready[i - 1], g.ready[size_t(((next_random() >> 32) * uint64_t(i)) >> 32)]);
        g.cursor = 0;
        fiber::resume(fiber_of(*next_ready()));  // the round's threads pass the CPU on among themselves
        g.current = nullptr;
        g.ready.swap(g.next);
        g.next.clear();
    }
    if (g.live > 0) deadlock();
}

cudaError_t check_config(const LaunchConfig& c) {
    const uint64_t threads = uint64_t(c.block.x) * c.block.y * c.block.z;
    if (c.grid.x == 0 || c.grid.y == 0 || c.grid.z == 0 || c.grid.x > 0x7fffffffu || c.grid.y > 65535 ||
        c.grid.z > 65535)
        return cudaErrorInvalidConfiguration;
    if (threads == 0 || threads > 1024 || c.block.x > 1024 || c.block.y > 1024 || c.block.z > 64)
        return cudaErrorInvalidConfiguration;
    if (c.smem > dynamic_shared_limit(current_device())) return cudaErrorInvalidValue;  // above 48 KB: opt-in
    return cudaSuccess;
}

uint64_t gcd(uint64_t a, uint64_t b) {
    while (b) {
        const uint64_t r = a % b;
        a = b, b = r;
    }
    return a;
}

}  // namespace

void print_context();

Issue launch_issue(const Site& site, const LaunchConfig& cfg) {
    cudaError_t error;
    const Issue how = issue(cfg.stream, site.kernel, &error);
    if (how != Issue::Capture) return how;
    if (const cudaError_t e = check_config(cfg); e != cudaSuccess) {
        char what[256];
        std::snprintf(what, sizeof what, "kernel %s (%s:%d)", site.kernel, site.file, site.line);
        capture_error(cfg.stream, e, what, "invalid launch configuration on a capturing stream");
        return Issue::Refused;
    }
    if (stream_device(cfg.stream) != current_device())
        fatal("kernel %s (%s:%d): launched on a stream of device %d while device %d is current", site.kernel,
              site.file, site.line, stream_device(cfg.stream), current_device());
    return Issue::Capture;
}

void run_grid(const Site& site, const LaunchConfig& cfg, void (*body)(void*), void* ctx, const KernelArg* args,
              size_t n_args) {
    std::lock_guard<std::mutex> lock(g_launch_mutex);
#ifdef EMU_ASAN_REPORTS
    // An ASan report from inside a kernel also names the kernel, block and thread.
    static const bool hooked = (__asan_set_error_report_callback([](const char*) { print_context(); }), true);
    (void)hooked;
#endif
    if (device_count() == 0) {
        set_error(cudaErrorNoDevice);
        return;
    }
    if (const cudaError_t e = check_config(cfg); e != cudaSuccess) {
        set_error(e);
        return;
    }
    const int device = current_device();
    if (stream_device(cfg.stream) != device)
        fatal("kernel %s (%s:%d): launched on a stream of device %d while device %d is current", site.kernel,
              site.file, site.line, stream_device(cfg.stream), device);
    for (size_t i = 0; i < n_args; ++i) {
        if (!args[i].is_pointer || args[i].ptr == nullptr) continue;
        const int d = device_of_pointer(args[i].ptr);
        if (d < 0)
            fatal("kernel %s (%s:%d): argument %zu (%p) is not device memory (host or freed memory would fault)",
                  site.kernel, site.file, site.line, i + 1, args[i].ptr);
        if (d != device)
            fatal("kernel %s (%s:%d): argument %zu (%p) is memory of device %d, but the kernel runs on device %d",
                  site.kernel, site.file, site.line, i + 1, args[i].ptr, d, device);
    }

    if (g_trace)
        std::fprintf(stderr, "cuda_emu: launch %s grid (%u,%u,%u) block (%u,%u,%u) smem %zu device %d at %s:%d\n",
                     site.kernel, cfg.grid.x, cfg.grid.y, cfg.grid.z, cfg.block.x, cfg.block.y, cfg.block.z, cfg.smem,
                     device, site.file, site.line);
    ++g_launch_serial;
    g.site = &site;
    g.cfg = &cfg;
    g.body = body;
    g.ctx = ctx;
    g.threads_per_block = static_cast<int>(cfg.block.x * cfg.block.y * cfg.block.z);
    g.threads.assign(static_cast<size_t>(g.threads_per_block), Thread{});
    g.warps.assign(static_cast<size_t>((g.threads_per_block + 31) / 32), Warp{});
    if (g_fibers.size() < g.threads.size()) g_fibers.resize(g.threads.size());
    g.dynamic_shared.assign(cfg.smem, char(0xFF));
    g.static_shared = 0;
    gridDim = cfg.grid;
    blockDim = cfg.block;

    // Blocks in a pseudo-random order: start + i * stride (mod total), stride coprime to total.
    const uint64_t gx = cfg.grid.x, gy = cfg.grid.y, total = gx * gy * cfg.grid.z;
    uint64_t b = 0, stride = 1;
    if (g_shuffle && total > 1) {
        b = next_random() % total;
        do stride = 1 + next_random() % (total - 1);
        while (gcd(stride, total) != 1);
    }
    for (uint64_t i = 0; i < total; ++i, b = (b + stride) % total) {
        blockIdx = uint3{static_cast<unsigned>(b % gx), static_cast<unsigned>((b / gx) % gy),
                         static_cast<unsigned>(b / (gx * gy))};
        run_block();
    }
    g.site = nullptr;
}

void syncthreads(const char* file, int line) {
    Thread& t = self();
    if (g.bar_arrived == 0) {
        g.bar_file = file;
        g.bar_line = line;
    } else if (line != g.bar_line || (file != g.bar_file && std::strcmp(file, g.bar_file) != 0)) {
        fatal("threads of one block wait at different __syncthreads() (%s:%d and %s:%d): a barrier in divergent "
              "code",
              g.bar_file, g.bar_line, file, line);
    }
    t.state = State::AtBarrier;
    g.bar_waiters.push_back(&t);
    if (++g.bar_arrived == g.live) release_barrier();
    wait(t);
}

WarpResult warp_collective(const char* what, unsigned mask, uint64_t value, WarpComplete complete) {
    Thread& t = self();
    Warp& w = g.warps[static_cast<size_t>(t.warp)];
    const unsigned bit = 1u << t.lane;
    if (!(mask & bit)) fatal("%s: the calling lane %d is not in its mask 0x%08x", what, t.lane, mask);
    if (w.arrived == 0) {
        w.mask = mask;
        w.what = what;
        w.complete = complete;
    } else if (w.mask != mask || (w.what != what && std::strcmp(w.what, what) != 0)) {
        fatal("lanes of warp %d wait in different warp collectives (%s mask 0x%08x, %s mask 0x%08x)", t.warp, w.what,
              w.mask, what, mask);
    }
    const int slot = static_cast<int>(w.gen & 1);
    w.values[slot][t.lane] = value;
    w.arrived |= bit;
    t.state = State::AtWarp;
    try_complete(w);
    wait(t);
    return {w.values[slot], w.participants[slot]};
}

int lane_id() { return self().lane; }

unsigned live_lanes() { return g.warps[static_cast<size_t>(self().warp)].live; }

void shared_fresh(void* ptr, size_t bytes, const char* name) {
    self();
    SharedSeen& seen = g_shared_seen[ptr];
    if (seen.block == g_block_serial) return;
    if (seen.launch != g_launch_serial) {
        g.static_shared += bytes;
        const size_t limit = g.cfg->smem > kStaticSharedLimit ? g.cfg->smem : kStaticSharedLimit;
        if (g.static_shared + g.cfg->smem > limit)
            fatal("kernel %s: __shared__ %s brings the block's shared memory to %zu bytes (limit %zu)",
                  g.site->kernel, name, g.static_shared + g.cfg->smem, limit);
    }
    seen = {g_launch_serial, g_block_serial};
    std::memset(ptr, 0xFF, bytes);
}

void* dynamic_shared() {
    self();
    return g.dynamic_shared.empty() ? nullptr : g.dynamic_shared.data();
}

}  // namespace detail

namespace detail {
void print_context() {
    if (!g.site || !g.current) return;
    const uint3 t = g.current->idx;
    std::fprintf(stderr, "cuda_emu:   in kernel %s launched at %s:%d, block (%u,%u,%u), thread (%u,%u,%u)\n",
                 g.site->kernel, g.site->file, g.site->line, blockIdx.x, blockIdx.y, blockIdx.z, t.x, t.y, t.z);
}
}  // namespace detail

void fatal(const char* format, ...) {
    char msg[2048];
    va_list ap;
    va_start(ap, format);
    std::vsnprintf(msg, sizeof msg, format, ap);
    va_end(ap);
    std::fprintf(stderr, "cuda_emu: %s\n", msg);
    detail::print_context();
    std::fflush(stderr);
    std::abort();
}

}  // namespace emu
