// The per-thread, per-device cache of CUDA graphs (see graph_cache.cuh).
// Entries are kept most recently used first; the key compare is a few dozen
// words, far below one launch. Per thread because a capture stream and a
// cuBLAS handle are per thread, and an exec must not be relaunched from two
// threads at once.
#include <atomic>
#include <utility>

#include "common/math_mode.h"
#include "cuda/common.cuh"
#include "cuda/graph_cache.cuh"

namespace dynrec::cuda {

namespace {

constexpr int kMaxDevices = 64;
// Enough for every layer of a few models' forward and backward, with buffers
// alternating between two sets; an evicted graph is rebuilt on its next repeat.
constexpr size_t kMaxEntries = 64;

std::atomic<int64_t> g_captured{0}, g_replayed{0}, g_failed{0};

struct Entry {
    std::vector<uint64_t> key;
    cudaGraphExec_t exec = nullptr;
    bool uncapturable = false;  // capture or instantiation failed once: always eager
};

struct DeviceGraphs {
    std::vector<Entry> entries;  // most recently used first
    cudaStream_t capture_stream = nullptr;

    void clear() noexcept {
        if (entries.empty() && capture_stream == nullptr) return;  // never used: do not touch the runtime
        for (Entry& e : entries)
            if (e.exec) cudaGraphExecDestroy(e.exec);  // an in-flight exec is freed when it completes
        entries.clear();
        if (capture_stream) cudaStreamDestroy(capture_stream);
        capture_stream = nullptr;
        cudaGetLastError();  // at thread exit the runtime may already be gone: nothing to report
    }
};

struct ThreadGraphs {
    DeviceGraphs by_device[kMaxDevices];
    ~ThreadGraphs() {
        for (DeviceGraphs& d : by_device) d.clear();
    }
};

thread_local ThreadGraphs t_graphs;

// The key plus the modes that change which kernels run (math_mode.h).
std::vector<uint64_t> full_key(const GraphKey& key) {
    std::vector<uint64_t> words = key.words();
    words.push_back(uint64_t(cuda_tf32_enabled()) | uint64_t(cuda_fused_epilogues_enabled()) << 1 |
                    uint64_t(cuda_hyper_path()) << 8);
    words.push_back(uint64_t(cuda_hyper_chunk_floats()));
    return words;
}

DeviceGraphs& current_device_graphs() {
    int device = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    if (device < 0 || device >= kMaxDevices) throw Error(DYNREC_ERR_UNSUPPORTED, "CUDA device index above 63");
    return t_graphs.by_device[device];
}

// Whether work issued to `stream` would join a capture the caller runs (or
// the runtime cannot say): then the op runs eagerly into it.
bool caller_capturing(void* stream) {
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    if (cudaStreamIsCapturing(as_stream(stream), &status) != cudaSuccess) {
        cudaGetLastError();
        return true;
    }
    return status != cudaStreamCaptureStatusNone;
}

// Moves the entry for `key` to the front (inserting it, evicting the least
// recently used if full); returns it and whether it was there before.
std::pair<Entry*, bool> touch(DeviceGraphs& d, std::vector<uint64_t>&& key) {
    for (size_t i = 0; i < d.entries.size(); ++i) {
        if (d.entries[i].key != key) continue;
        if (i > 0) {
            Entry hit = std::move(d.entries[i]);
            d.entries.erase(d.entries.begin() + static_cast<std::ptrdiff_t>(i));
            d.entries.insert(d.entries.begin(), std::move(hit));
        }
        return {&d.entries.front(), true};
    }
    if (d.entries.size() >= kMaxEntries) {
        if (d.entries.back().exec) cudaGraphExecDestroy(d.entries.back().exec);
        d.entries.pop_back();
    }
    Entry fresh;
    fresh.key = std::move(key);
    d.entries.insert(d.entries.begin(), std::move(fresh));
    return {&d.entries.front(), false};
}

// Captures the launches into a graph and instantiates it; nullptr if CUDA
// refuses (the caller then runs eagerly). An exception from the launches
// themselves (a bad launch, a cuBLAS error) ends the capture and propagates,
// as it would have eagerly.
cudaGraphExec_t capture(DeviceGraphs& d, const std::function<void(void*)>& launches) {
    if (d.capture_stream == nullptr &&
        cudaStreamCreateWithFlags(&d.capture_stream, cudaStreamNonBlocking) != cudaSuccess) {
        d.capture_stream = nullptr;
        cudaGetLastError();
        return nullptr;
    }
    if (cudaStreamBeginCapture(d.capture_stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
        cudaGetLastError();
        return nullptr;
    }
    cudaGraph_t graph = nullptr;
    try {
        launches(d.capture_stream);
    } catch (...) {
        if (cudaStreamEndCapture(d.capture_stream, &graph) == cudaSuccess && graph) cudaGraphDestroy(graph);
        cudaGetLastError();
        throw;
    }
    if (cudaStreamEndCapture(d.capture_stream, &graph) != cudaSuccess || graph == nullptr) {
        cudaGetLastError();
        return nullptr;
    }
    // Auto-free on launch: should a captured library call (cuBLAS's stream-ordered workspace)
    // leave an allocation unfreed in the graph, relaunching frees it instead of failing.
    cudaGraphExec_t exec = nullptr;
    const cudaError_t made = cudaGraphInstantiateWithFlags(&exec, graph, cudaGraphInstantiateFlagAutoFreeOnLaunch);
    cudaGraphDestroy(graph);
    if (made != cudaSuccess) {
        cudaGetLastError();
        return nullptr;
    }
    return exec;
}

}  // namespace

void run_graphed(void* stream, const GraphKey& key, const std::function<void(void*)>& launches) {
    if (!cuda_graphs_enabled() || caller_capturing(stream)) {
        launches(stream);
        return;
    }
    DeviceGraphs& d = current_device_graphs();
    auto [entry, seen] = touch(d, full_key(key));
    if (!seen || entry->uncapturable) {
        launches(stream);  // first sighting: a graph pays off only for calls that repeat
        return;
    }
    if (entry->exec == nullptr) {
        entry->exec = capture(d, launches);
        if (entry->exec == nullptr) {
            entry->uncapturable = true;
            g_failed.fetch_add(1, std::memory_order_relaxed);
            launches(stream);
            return;
        }
        g_captured.fetch_add(1, std::memory_order_relaxed);
    }
    if (cudaGraphLaunch(entry->exec, as_stream(stream)) != cudaSuccess) {
        // A launch CUDA refuses for the graph itself: this key runs eagerly from now on. (A
        // sticky error from earlier work fails the eager launches too, and is reported there.)
        cudaGetLastError();
        cudaGraphExecDestroy(entry->exec);
        entry->exec = nullptr;
        entry->uncapturable = true;
        g_failed.fetch_add(1, std::memory_order_relaxed);
        launches(stream);
        return;
    }
    g_replayed.fetch_add(1, std::memory_order_relaxed);
}

GraphCounters graph_counters() noexcept {
    return {g_captured.load(std::memory_order_relaxed), g_replayed.load(std::memory_order_relaxed),
            g_failed.load(std::memory_order_relaxed)};
}

void clear_thread_graphs() noexcept {
    for (DeviceGraphs& d : t_graphs.by_device) d.clear();
}

}  // namespace dynrec::cuda
