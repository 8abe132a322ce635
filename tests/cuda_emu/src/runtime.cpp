// Emulated CUDA runtime: devices, memory, copies, streams, errors.
// cudaMalloc memory is host memory from posix_memalign (256-byte aligned like
// the real allocator, exact size so ASan guards its end), filled with 0xFF
// bytes (NaN floats) because device memory starts out as garbage, and
// registered with its device so pointer queries and range checks work.
// Misuse that the real runtime reports as an error returns that error (with a
// note on stderr saying why); misuse that would fault on a GPU is fatal.
//
// Stream capture: a capturing stream keeps a list of closures instead of
// running its work (emu::issue / emu::record); cudaStreamEndCapture turns the
// list into a graph, cudaGraphInstantiateWithFlags shares it with an exec, and
// cudaGraphLaunch runs the closures in order, synchronously, on the launch
// stream with the graph's device current. The capture rules of the real
// runtime that can bite a library are kept: the legacy stream may not touch a
// capturing blocking stream (cudaErrorStreamCaptureImplicit), syncing with a
// capturing stream is not permitted (cudaErrorStreamCaptureUnsupported),
// cudaMalloc / cudaFree are "potentially unsafe" calls under the capture
// modes' rules, and any of these invalidates the capture.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "cuda_runtime.h"
#include "state.h"

namespace emu {

namespace {

struct Allocation {
    size_t bytes;
    int device;
};

std::mutex g_mutex;  // guards the allocation, stream and graph registries and the captures
std::map<uintptr_t, Allocation> g_allocations;
std::set<const CUstream_st*> g_streams;
thread_local cudaError_t t_last_error = cudaSuccess;
thread_local int t_device = 0;
constexpr int kSharedOptinLimit = 232448;  // an H100's cudaDevAttrMaxSharedMemoryPerBlockOptin
std::map<int, size_t> g_shared_optin;       // device -> largest MaxDynamicSharedMemorySize set (g_mutex)

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atoi(v) : fallback;
}

// The allocation containing [p, p + bytes) (bytes 0: p may be one past the end).
const std::pair<const uintptr_t, Allocation>* find(const void* ptr, size_t bytes) {
    const uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
    auto it = g_allocations.upper_bound(p);
    if (it == g_allocations.begin()) return nullptr;
    --it;
    const uintptr_t end = it->first + it->second.bytes;
    if (bytes == 0 ? p > end : (p >= end || bytes > end - p)) return nullptr;
    return &*it;
}

cudaError_t note(cudaError_t error, const char* what, const char* why) {
    std::fprintf(stderr, "cuda_emu: %s: %s\n", what, why);
    return set_error(error);
}

}  // namespace

int device_count() {
    static const int count = env_int("CUDA_EMU_DEVICES", 2);
    return count;
}
int current_device() { return t_device; }
size_t dynamic_shared_limit(int device) {
    std::lock_guard<std::mutex> lock(g_mutex);
    const auto it = g_shared_optin.find(device);
    return it == g_shared_optin.end() || it->second < 48 * 1024 ? 48 * 1024 : it->second;
}
int compute_capability() {
    static const int cc = env_int("CUDA_EMU_CC", 90);
    return cc;
}

int device_of_pointer(const void* ptr) {
    std::lock_guard<std::mutex> lock(g_mutex);
    const auto* a = find(ptr, 0);
    return a ? a->second.device : -1;
}

int device_of_range(const void* ptr, size_t bytes) {
    std::lock_guard<std::mutex> lock(g_mutex);
    const auto* a = find(ptr, bytes);
    return a ? a->second.device : -1;
}

cudaError_t set_error(cudaError_t error) {
    if (error != cudaSuccess) t_last_error = error;
    return error;
}

// One recorded stream operation.
struct Op {
    const char* what;
    StreamOp run;
};
using Ops = std::vector<Op>;

// A stream's capture sequence, from cudaStreamBeginCapture to cudaStreamEndCapture.
struct Capture {
    cudaStreamCaptureMode mode;
    std::thread::id thread;  // the thread that began it
    bool invalidated;
    Ops ops;
};

}  // namespace emu

// A stream remembers its device and flags; NULL is the current device's legacy default stream.
struct CUstream_st {
    int device;
    unsigned flags;
    std::unique_ptr<emu::Capture> capture;  // while capturing
};

// Graphs and execs share their (immutable) list of operations. Destroyed
// ones stay allocated (emptied) so their address is never reused and a later
// use is always caught.
struct CUgraph_st {
    int device;
    std::shared_ptr<const emu::Ops> ops;
};
struct CUgraphExec_st {
    int device;
    std::shared_ptr<const emu::Ops> ops;
};

namespace emu {

namespace {

std::atomic<int> g_capturing{0};  // streams in capture mode (fast path: no capture anywhere)
std::set<const CUgraph_st*> g_graphs;
std::set<const CUgraphExec_st*> g_execs;
std::vector<std::unique_ptr<CUgraph_st>> g_all_graphs;  // every graph ever made (see above)
std::vector<std::unique_ptr<CUgraphExec_st>> g_all_execs;

// Under g_mutex.
CUstream_st* checked_stream(cudaStream_t stream) {
    if (!g_streams.count(stream)) fatal("stream %p was not created by cudaStreamCreate or is destroyed", (void*)stream);
    return stream;
}

// Under g_mutex: the streams capturing on `device`, blocking ones only if `blocking_only`.
template <class F>
void for_each_capture(int device, bool blocking_only, F&& f) {
    if (g_capturing.load() == 0) return;
    for (const CUstream_st* cs : g_streams) {
        auto* st = const_cast<CUstream_st*>(cs);
        if (st->capture && (device < 0 || st->device == device) && !(blocking_only && (st->flags & cudaStreamNonBlocking)))
            f(st);
    }
}

// Under g_mutex: legacy-stream work on `device` would depend on any blocking
// stream capturing there: those captures are invalidated. True if there was one.
bool legacy_conflict(int device) {
    bool any = false;
    for_each_capture(device, true, [&](CUstream_st* st) {
        st->capture->invalidated = true;
        any = true;
    });
    return any;
}

// Under g_mutex: a "potentially unsafe" call (cudaMalloc, cudaFree) from this
// thread is prohibited while this thread has a capture not begun in relaxed
// mode, or another thread has one begun in global mode (the calling thread's
// own interaction mode is the default, global). Those captures are invalidated.
bool unsafe_call_prohibited() {
    bool prohibited = false;
    const std::thread::id me = std::this_thread::get_id();
    for_each_capture(-1, false, [&](CUstream_st* st) {
        const Capture& c = *st->capture;
        if (c.thread == me ? c.mode != cudaStreamCaptureModeRelaxed : c.mode == cudaStreamCaptureModeGlobal) {
            st->capture->invalidated = true;
            prohibited = true;
        }
    });
    return prohibited;
}

// The recorded operations, run in order on `stream` with `device` current.
void replay(const Ops& ops, int device, cudaStream_t stream) {
    const int saved = t_device;
    t_device = device;
    for (const Op& op : ops) op.run(stream);
    t_device = saved;
}

}  // namespace

int stream_device(cudaStream_t stream) {
    if (stream == nullptr) return current_device();
    std::lock_guard<std::mutex> lock(g_mutex);
    return checked_stream(stream)->device;
}

Issue issue(cudaStream_t stream, const char* what, cudaError_t* error) {
    *error = cudaSuccess;
    if (g_capturing.load() == 0) return Issue::Run;
    std::lock_guard<std::mutex> lock(g_mutex);
    if (stream == nullptr) {
        if (!legacy_conflict(t_device)) return Issue::Run;
        *error = note(cudaErrorStreamCaptureImplicit, what,
                      "work on the legacy NULL stream while a blocking stream of its device is capturing (it would "
                      "depend on the capture); the capture is invalidated");
        return Issue::Refused;
    }
    const CUstream_st* st = checked_stream(stream);
    if (!st->capture) return Issue::Run;
    if (st->capture->invalidated) {
        *error = note(cudaErrorStreamCaptureInvalidated, what,
                      "the stream's capture was invalidated by an earlier error; nothing is recorded");
        return Issue::Refused;
    }
    return Issue::Capture;
}

void record(cudaStream_t stream, const char* what, StreamOp op) {
    std::lock_guard<std::mutex> lock(g_mutex);
    CUstream_st* st = checked_stream(stream);
    if (!st->capture)
        fatal("%s: stream %p stopped capturing while the work was being issued to it (a capture ended by another "
              "thread during the call)",
              what, (void*)stream);
    st->capture->ops.push_back({what, std::move(op)});
}

cudaError_t capture_error(cudaStream_t stream, cudaError_t error, const char* what, const char* why) {
    {
        std::lock_guard<std::mutex> lock(g_mutex);
        CUstream_st* st = stream ? checked_stream(stream) : nullptr;
        if (st && st->capture) st->capture->invalidated = true;
    }
    return note(error, what, why);
}

}  // namespace emu

using emu::note;
using emu::set_error;

cudaError_t cudaGetDeviceCount(int* count) {
    if (!count) return set_error(cudaErrorInvalidValue);
    *count = emu::device_count();
    return *count > 0 ? cudaSuccess : set_error(cudaErrorNoDevice);
}

cudaError_t cudaSetDevice(int device) {
    if (device < 0 || device >= emu::device_count()) return set_error(cudaErrorInvalidDevice);
    emu::t_device = device;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
    if (!device) return set_error(cudaErrorInvalidValue);
    if (emu::device_count() == 0) return set_error(cudaErrorNoDevice);
    *device = emu::t_device;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, enum cudaDeviceAttr attr, int device) {
    if (!value) return set_error(cudaErrorInvalidValue);
    if (device < 0 || device >= emu::device_count()) return set_error(cudaErrorInvalidDevice);
    switch (attr) {
        case cudaDevAttrComputeCapabilityMajor: *value = emu::compute_capability() / 10; break;
        case cudaDevAttrComputeCapabilityMinor: *value = emu::compute_capability() % 10; break;
        case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
        case cudaDevAttrMaxSharedMemoryPerBlock: *value = 48 * 1024; break;
        case cudaDevAttrWarpSize: *value = 32; break;
        case cudaDevAttrMultiProcessorCount: *value = 132; break;
        case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = emu::kSharedOptinLimit; break;
        default: return note(cudaErrorInvalidValue, "cudaDeviceGetAttribute", "attribute not emulated");
    }
    return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void* func, enum cudaFuncAttribute attr, int value) {
    if (!func) return set_error(cudaErrorInvalidDeviceFunction);
    if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize)
        return emu::note(cudaErrorInvalidValue, "cudaFuncSetAttribute", "attribute not emulated");
    if (value < 0 || value > emu::kSharedOptinLimit) return set_error(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    size_t& granted = emu::g_shared_optin[emu::t_device];
    granted = std::max(granted, size_t(value));
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
    if (emu::device_count() == 0) return set_error(cudaErrorNoDevice);
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    bool capturing = false;
    emu::for_each_capture(emu::t_device, false, [&](CUstream_st* st) {
        st->capture->invalidated = true;
        capturing = true;
    });
    if (capturing)
        return note(cudaErrorStreamCaptureUnsupported, "cudaDeviceSynchronize",
                    "a stream of the device is capturing (a sync with it is not permitted); its capture is invalidated");
    return cudaSuccess;
}

namespace emu {
namespace {

cudaError_t unsafe_call(const char* what) {
    if (g_capturing.load() == 0) return cudaSuccess;
    std::lock_guard<std::mutex> lock(g_mutex);
    if (!unsafe_call_prohibited()) return cudaSuccess;
    return note(cudaErrorStreamCaptureUnsupported, what,
                "not permitted during stream capture (a capture not begun in relaxed mode on this thread, or one "
                "begun in global mode on another); the capture is invalidated");
}

const char* kind_name(cudaMemcpyKind kind) {
    switch (kind) {
        case cudaMemcpyHostToHost: return "HostToHost";
        case cudaMemcpyHostToDevice: return "HostToDevice";
        case cudaMemcpyDeviceToHost: return "DeviceToHost";
        case cudaMemcpyDeviceToDevice: return "DeviceToDevice";
        case cudaMemcpyDefault: return "Default";
    }
    return "(invalid kind)";
}

// Why the copy is invalid (the runtime's error in *error), or NULL. An
// overlapping device-to-device copy is fatal.
const char* copy_problem(const char* fn, void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                         cudaError_t* error) {
    *error = cudaErrorInvalidValue;
    if (!dst || !src) return "NULL pointer";
    const bool dst_dev = device_of_pointer(dst) >= 0, src_dev = device_of_pointer(src) >= 0;
    const bool dst_fits = device_of_range(dst, bytes) >= 0, src_fits = device_of_range(src, bytes) >= 0;
    switch (kind) {
        case cudaMemcpyHostToDevice:
            if (!dst_fits) return "destination is not a device range of that size";
            if (src_dev) return "source is device memory";
            break;
        case cudaMemcpyDeviceToHost:
            if (!src_fits) return "source is not a device range of that size";
            if (dst_dev) return "destination is device memory";
            break;
        case cudaMemcpyDeviceToDevice:
            if (!src_fits || !dst_fits) return "source or destination is not a device range of that size";
            if (static_cast<const char*>(src) < static_cast<char*>(dst) + bytes &&
                static_cast<char*>(dst) < static_cast<const char*>(src) + bytes && src != dst)
                fatal("%s DeviceToDevice: source and destination overlap (undefined on a GPU)", fn);
            break;
        case cudaMemcpyHostToHost:
            if (src_dev || dst_dev) return "device pointer";
            break;
        case cudaMemcpyDefault:
            if ((dst_dev && !dst_fits) || (src_dev && !src_fits)) return "copy runs past a device allocation";
            break;
        default: *error = cudaErrorInvalidMemcpyDirection; return "invalid cudaMemcpyKind";
    }
    return nullptr;
}

cudaError_t copy_error(const char* fn, cudaMemcpyKind kind, cudaError_t error, const char* why, cudaStream_t stream,
                       bool capturing) {
    char what[64];
    std::snprintf(what, sizeof what, "%s %s", fn, kind_name(kind));
    return capturing ? capture_error(stream, error, what, why) : note(error, what, why);
}

}  // namespace
}  // namespace emu

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
    if (!ptr) return set_error(cudaErrorInvalidValue);
    if (emu::device_count() == 0) return set_error(cudaErrorNoDevice);
    *ptr = nullptr;
    if (const cudaError_t e = emu::unsafe_call("cudaMalloc"); e != cudaSuccess) return e;
    if (bytes == 0) return cudaSuccess;
    void* p = nullptr;
    if (posix_memalign(&p, 256, bytes) != 0) return set_error(cudaErrorMemoryAllocation);
    std::memset(p, 0xFF, bytes);
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    emu::g_allocations[reinterpret_cast<uintptr_t>(p)] = {bytes, emu::t_device};
    *ptr = p;
    return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
    if (const cudaError_t e = emu::unsafe_call("cudaFree"); e != cudaSuccess) return e;
    if (!ptr) return cudaSuccess;
    {
        std::lock_guard<std::mutex> lock(emu::g_mutex);
        auto it = emu::g_allocations.find(reinterpret_cast<uintptr_t>(ptr));
        if (it == emu::g_allocations.end()) return note(cudaErrorInvalidValue, "cudaFree", "not a cudaMalloc pointer");
        emu::g_allocations.erase(it);
    }
    std::free(ptr);
    return cudaSuccess;
}

cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* ptr) {
    if (!attributes) return set_error(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    const auto* a = ptr ? emu::find(ptr, 1) : nullptr;
    if (a) {
        *attributes = {cudaMemoryTypeDevice, a->second.device, const_cast<void*>(ptr), nullptr};
    } else {
        *attributes = {cudaMemoryTypeUnregistered, -2, nullptr, const_cast<void*>(ptr)};
    }
    return cudaSuccess;
}

// cudaMemcpy is legacy-stream work: refused while a blocking stream of the
// device captures, run at once otherwise (a non-blocking capture does not see it).
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, enum cudaMemcpyKind kind) {
    if (bytes == 0) return cudaSuccess;
    cudaError_t e;
    if (const char* why = emu::copy_problem("cudaMemcpy", dst, src, bytes, kind, &e))
        return emu::copy_error("cudaMemcpy", kind, e, why, nullptr, false);
    if (emu::issue(nullptr, "cudaMemcpy", &e) == emu::Issue::Refused) return e;
    std::memmove(dst, src, bytes);
    return cudaSuccess;
}

// On a capturing stream the copy is checked now and done (between the memory
// as it is then) at every graph launch; a host buffer must still be alive then.
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, enum cudaMemcpyKind kind, cudaStream_t stream) {
    emu::stream_device(stream);
    cudaError_t e;
    const emu::Issue how = emu::issue(stream, "cudaMemcpyAsync", &e);
    if (how == emu::Issue::Refused) return e;
    if (bytes == 0) return cudaSuccess;
    if (const char* why = emu::copy_problem("cudaMemcpyAsync", dst, src, bytes, kind, &e))
        return emu::copy_error("cudaMemcpyAsync", kind, e, why, stream, how == emu::Issue::Capture);
    if (how == emu::Issue::Capture) {
        emu::record(stream, "cudaMemcpyAsync", [dst, src, bytes, kind](cudaStream_t) {
            cudaError_t err;
            if (const char* why = emu::copy_problem("cudaMemcpyAsync (graph replay)", dst, src, bytes, kind, &err))
                emu::fatal("graph replay of cudaMemcpyAsync(%p, %p, %zu bytes, %s) recorded at capture: %s (memory "
                           "freed since the capture? a GPU would fault)",
                           dst, src, bytes, emu::kind_name(kind), why);
            std::memmove(dst, src, bytes);
        });
        return cudaSuccess;
    }
    std::memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
    if (bytes == 0) return cudaSuccess;
    if (emu::device_of_range(dst, bytes) < 0)
        return note(cudaErrorInvalidValue, "cudaMemset", "not a device range of that size");
    cudaError_t e;
    if (emu::issue(nullptr, "cudaMemset", &e) == emu::Issue::Refused) return e;
    std::memset(dst, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
    emu::stream_device(stream);
    cudaError_t e;
    const emu::Issue how = emu::issue(stream, "cudaMemsetAsync", &e);
    if (how == emu::Issue::Refused) return e;
    if (bytes == 0) return cudaSuccess;
    if (emu::device_of_range(dst, bytes) < 0)
        return how == emu::Issue::Capture
                   ? emu::capture_error(stream, cudaErrorInvalidValue, "cudaMemsetAsync", "not a device range of that size")
                   : note(cudaErrorInvalidValue, "cudaMemsetAsync", "not a device range of that size");
    if (how == emu::Issue::Capture) {
        emu::record(stream, "cudaMemsetAsync", [dst, value, bytes](cudaStream_t) {
            if (emu::device_of_range(dst, bytes) < 0)
                emu::fatal("graph replay of cudaMemsetAsync(%p, %d, %zu bytes) recorded at capture: not a device range "
                           "of that size any more (freed since the capture? a GPU would fault)",
                           dst, value, bytes);
            std::memset(dst, value, bytes);
        });
        return cudaSuccess;
    }
    std::memset(dst, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
    if (!stream || (flags & ~unsigned(cudaStreamNonBlocking))) return set_error(cudaErrorInvalidValue);
    *stream = new CUstream_st{emu::t_device, flags, nullptr};
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    emu::g_streams.insert(*stream);
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, cudaStreamDefault); }

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
    {
        std::lock_guard<std::mutex> lock(emu::g_mutex);
        if (!stream || !emu::g_streams.count(stream)) return set_error(cudaErrorInvalidResourceHandle);
        if (stream->capture) {
            stream->capture->invalidated = true;
            return note(cudaErrorStreamCaptureUnsupported, "cudaStreamDestroy",
                        "the stream is capturing: its capture is invalidated and the stream is kept (end the capture, "
                        "then destroy it)");
        }
        emu::g_streams.erase(stream);
    }
    delete stream;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    if (stream == nullptr) {
        if (emu::legacy_conflict(emu::t_device))
            return note(cudaErrorStreamCaptureImplicit, "cudaStreamSynchronize(NULL)",
                        "a blocking stream of the device is capturing (the legacy stream would sync with it); its "
                        "capture is invalidated");
        return cudaSuccess;
    }
    CUstream_st* st = emu::checked_stream(stream);
    if (st->capture) {
        st->capture->invalidated = true;
        return note(cudaErrorStreamCaptureUnsupported, "cudaStreamSynchronize",
                    "the stream is capturing (not permitted); its capture is invalidated");
    }
    return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode) {
    if (stream == nullptr)
        return note(cudaErrorStreamCaptureUnsupported, "cudaStreamBeginCapture", "the legacy NULL stream cannot capture");
    if (mode != cudaStreamCaptureModeGlobal && mode != cudaStreamCaptureModeThreadLocal &&
        mode != cudaStreamCaptureModeRelaxed)
        return note(cudaErrorInvalidValue, "cudaStreamBeginCapture", "unknown capture mode");
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    CUstream_st* st = emu::checked_stream(stream);
    if (st->capture) return note(cudaErrorIllegalState, "cudaStreamBeginCapture", "the stream is already capturing");
    st->capture.reset(new emu::Capture{mode, std::this_thread::get_id(), false, {}});
    ++emu::g_capturing;
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
    if (!graph) return note(cudaErrorInvalidValue, "cudaStreamEndCapture", "NULL graph pointer");
    if (stream == nullptr)
        return note(cudaErrorIllegalState, "cudaStreamEndCapture", "the legacy NULL stream never captures");
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    CUstream_st* st = emu::checked_stream(stream);
    if (!st->capture) return note(cudaErrorIllegalState, "cudaStreamEndCapture", "the stream is not capturing");
    if (st->capture->mode != cudaStreamCaptureModeRelaxed && st->capture->thread != std::this_thread::get_id())
        return note(cudaErrorStreamCaptureWrongThread, "cudaStreamEndCapture",
                    "the capture was begun on another thread (and not in relaxed mode); it goes on");
    const std::unique_ptr<emu::Capture> capture = std::move(st->capture);
    --emu::g_capturing;
    if (capture->invalidated) {
        *graph = nullptr;
        return note(cudaErrorStreamCaptureInvalidated, "cudaStreamEndCapture",
                    "the capture was invalidated by an error during it; no graph");
    }
    emu::g_all_graphs.emplace_back(
        new CUgraph_st{st->device, std::make_shared<const emu::Ops>(std::move(capture->ops))});
    *graph = emu::g_all_graphs.back().get();
    emu::g_graphs.insert(*graph);
    return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, enum cudaStreamCaptureStatus* status) {
    if (!status) return set_error(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    if (stream == nullptr) {
        bool blocking_capture = false;
        emu::for_each_capture(emu::t_device, true, [&](CUstream_st*) { blocking_capture = true; });
        // As documented: the error, but the blocking stream's capture is not invalidated.
        if (blocking_capture) return set_error(cudaErrorStreamCaptureImplicit);
        *status = cudaStreamCaptureStatusNone;
        return cudaSuccess;
    }
    const CUstream_st* st = emu::checked_stream(stream);
    *status = !st->capture                ? cudaStreamCaptureStatusNone
              : st->capture->invalidated ? cudaStreamCaptureStatusInvalidated
                                          : cudaStreamCaptureStatusActive;
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long flags) {
    if (!exec || !graph) return note(cudaErrorInvalidValue, "cudaGraphInstantiateWithFlags", "NULL exec pointer or graph");
    if (flags & ~0xfull) return note(cudaErrorInvalidValue, "cudaGraphInstantiateWithFlags", "unknown flags");
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    if (!emu::g_graphs.count(graph))
        emu::fatal("cudaGraphInstantiateWithFlags: graph %p is destroyed or was never made by cudaStreamEndCapture",
                   (void*)graph);
    emu::g_all_execs.emplace_back(new CUgraphExec_st{graph->device, graph->ops});
    *exec = emu::g_all_execs.back().get();
    emu::g_execs.insert(*exec);
    return cudaSuccess;
}

// Replays the graph's operations in order, synchronously, as work issued to
// `stream`. Into a capturing stream the whole replay is recorded as one
// operation (CUDA adds the graph as a child graph node).
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
    if (!exec) return note(cudaErrorInvalidValue, "cudaGraphLaunch", "NULL exec");
    int device;
    std::shared_ptr<const emu::Ops> ops;
    {
        std::lock_guard<std::mutex> lock(emu::g_mutex);
        if (!emu::g_execs.count(exec))
            emu::fatal("cudaGraphLaunch: exec %p is destroyed or was never made by cudaGraphInstantiateWithFlags",
                       (void*)exec);
        device = exec->device;
        ops = exec->ops;
    }
    if (emu::stream_device(stream) != device)
        return note(cudaErrorInvalidValue, "cudaGraphLaunch", "the stream belongs to another device than the graph");
    cudaError_t e;
    switch (emu::issue(stream, "cudaGraphLaunch", &e)) {
        case emu::Issue::Refused: return e;
        case emu::Issue::Capture:
            emu::record(stream, "cudaGraphLaunch (child graph)",
                        [ops, device](cudaStream_t s) { emu::replay(*ops, device, s); });
            return cudaSuccess;
        case emu::Issue::Run: break;
    }
    emu::replay(*ops, device, stream);
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
    if (!exec) return note(cudaErrorInvalidValue, "cudaGraphExecDestroy", "NULL exec");
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    if (!emu::g_execs.erase(exec))
        emu::fatal("cudaGraphExecDestroy: exec %p is already destroyed or was never made by "
                   "cudaGraphInstantiateWithFlags",
                   (void*)exec);
    exec->ops.reset();
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
    if (!graph) return note(cudaErrorInvalidValue, "cudaGraphDestroy", "NULL graph");
    std::lock_guard<std::mutex> lock(emu::g_mutex);
    if (!emu::g_graphs.erase(graph))
        emu::fatal("cudaGraphDestroy: graph %p is already destroyed or was never made by cudaStreamEndCapture",
                   (void*)graph);
    graph->ops.reset();
    return cudaSuccess;
}

cudaError_t cudaGetLastError() {
    const cudaError_t e = emu::t_last_error;
    emu::t_last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError() { return emu::t_last_error; }

const char* cudaGetErrorName(cudaError_t error) {
    switch (error) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
        case cudaErrorInvalidDeviceFunction: return "cudaErrorInvalidDeviceFunction";
        case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
        case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
        case cudaErrorNoDevice: return "cudaErrorNoDevice";
        case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
        case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
        case cudaErrorIllegalState: return "cudaErrorIllegalState";
        case cudaErrorNotSupported: return "cudaErrorNotSupported";
        case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
        case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
        case cudaErrorStreamCaptureUnmatched: return "cudaErrorStreamCaptureUnmatched";
        case cudaErrorStreamCaptureImplicit: return "cudaErrorStreamCaptureImplicit";
        case cudaErrorStreamCaptureWrongThread: return "cudaErrorStreamCaptureWrongThread";
    }
    return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
    switch (error) {
        case cudaSuccess: return "no error";
        case cudaErrorInvalidValue: return "invalid argument";
        case cudaErrorMemoryAllocation: return "out of memory";
        case cudaErrorInvalidConfiguration: return "invalid configuration argument";
        case cudaErrorInvalidDeviceFunction: return "invalid device function";
        case cudaErrorInvalidDevicePointer: return "invalid device pointer";
        case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
        case cudaErrorNoDevice: return "no CUDA-capable device is detected";
        case cudaErrorInvalidDevice: return "invalid device ordinal";
        case cudaErrorInvalidResourceHandle: return "invalid resource handle";
        case cudaErrorIllegalState: return "the operation cannot be performed in the present state";
        case cudaErrorNotSupported: return "operation not supported";
        case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
        case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
        case cudaErrorStreamCaptureUnmatched: return "capture was not initiated in this stream";
        case cudaErrorStreamCaptureImplicit:
            return "operation would make the legacy stream depend on a capturing blocking stream";
        case cudaErrorStreamCaptureWrongThread:
            return "attempt to terminate a thread-local capture sequence from another thread";
    }
    return "unknown error";
}

// Unmangled entry points for foreign callers (the benchmark script's
// --device cuda-emu mode reaches them through ctypes): emulated device memory
// on the calling thread's current device, 0 on success.
extern "C" int cuda_emu_malloc(void** ptr, size_t bytes) { return static_cast<int>(cudaMalloc(ptr, bytes)); }
extern "C" int cuda_emu_free(void* ptr) { return static_cast<int>(cudaFree(ptr)); }
