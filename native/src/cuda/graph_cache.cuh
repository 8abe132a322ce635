// CUDA graphs for the multi-launch ops. An apg_layer forward + backward is
// ~25 launches (13 of them cuBLAS calls) of a few microseconds of GPU work
// each, so at batch 1024-4096 the host's launch cost, not the GPU, sets its
// time. When graphs are on (dynrec_cuda_set_graphs / DYNREC_CUDA_GRAPHS=1),
// a call whose key (the export's name, every argument: shapes, flags,
// pointers, stream; and the CUDA math modes) was seen before replays its
// launches as one cached graph: the first sighting runs eagerly and
// remembers the key, the second captures the launches (on a private
// non-blocking stream, so the caller's stream may be the legacy default
// stream) and instantiates them, later ones only launch the graph into the
// caller's stream. A graph holds pointers and scalars, never data, so a
// replay reads whatever the buffers hold then. Training loops that reuse
// their buffers (caching allocators usually do) hit; a call with new
// pointers costs one key comparison per cached graph and runs eagerly.
// Calls on a stream the caller is capturing run eagerly into that capture.
// If capture, instantiation or a graph launch fails, that key runs eagerly
// from then on (counted in graph_counters().failed).
// Declarations only (plain C++): the API layer builds keys.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <type_traits>
#include <vector>

namespace dynrec::cuda {

class GraphKey {
public:
    // `op`: the export's name (hashed by content: string literals may or may not share addresses).
    explicit GraphKey(const char* op) {
        uint64_t h = 14695981039346656037ull;  // FNV-1a
        for (const char* c = op; *c; ++c) h = (h ^ static_cast<unsigned char>(*c)) * 1099511628211ull;
        push(h);
    }

    template <class... T>
    GraphKey& add(const T&... values) {
        (push(values), ...);
        return *this;
    }

    // A C array of pointers or scalars (apg_layer's parameter slots).
    template <class T>
    GraphKey& add_array(const T* values, int count) {
        for (int i = 0; i < count; ++i) push(values[i]);
        return *this;
    }

    const std::vector<uint64_t>& words() const noexcept { return words_; }

private:
    template <class T>
    void push(const T& value) {
        static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(uint64_t),
                      "a graph key holds scalars and pointers");
        uint64_t word = 0;
        std::memcpy(&word, &value, sizeof(T));
        words_.push_back(word);
    }

    std::vector<uint64_t> words_;
};

// Runs `launches(stream)` (the op's kernels, all on the stream it is given)
// eagerly, or through the graph cached for `key` when graphs are on.
void run_graphed(void* stream, const GraphKey& key, const std::function<void(void*)>& launches);

struct GraphCounters {
    int64_t captured;  // graphs instantiated
    int64_t replayed;  // calls served by a graph launch
    int64_t failed;    // captures, instantiations or graph launches CUDA refused (those keys run eagerly)
};
GraphCounters graph_counters() noexcept;

// Destroys this thread's cached graphs (all devices); they are rebuilt on demand.
void clear_thread_graphs() noexcept;

}  // namespace dynrec::cuda
