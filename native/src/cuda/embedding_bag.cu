// Table-batched embeddings on CUDA.
// Workspace: [plan arrays (int64; the last T words are the table pointers)]
// [first-bad-id slot] [sort keys in/out] [sort values in/out] [per-bag
// scales] [CUB radix-sort scratch], each 256-byte aligned. The plan is
// copied in once per call (one async H2D copy).
// ids check: one thread per id, atomicMin of the flat index of a bad id
// (an integer atomic: the first bad position wins regardless of timing).
// Forward: one warp per (sample, field) bag; lanes stride over the dim.
// Backward + update: keys = global row (padding -> sentinel), values = flat
// position; a stable CUB radix sort groups duplicates in sample/slot order;
// one warp per sorted position, only the warp at a segment head works: it
// sums the segment's gradient in that fixed order (no float atomics:
// deterministic) and applies the optimizer to the row, or adds the sum to
// the row of its gradient table (tables backward). An id outside its
// table reads as padding in every kernel (the API layer may have rejected
// it already with tbe_first_invalid_id, or skipped that check).
// The narrow CUB header: <cub/cub.cuh> pulls in parts of libstdc++ 12 that
// nvcc 11.8 + clang 14 cannot parse.
#include <cub/device/device_radix_sort.cuh>

#include <vector>

#include "cuda/common.cuh"
#include "cuda/embedding_bag.cuh"
#include "dynrec/dynrec.h"

namespace dynrec::cuda {

namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kThreads = 32 * kWarpsPerBlock;
constexpr unsigned kFullMask = 0xffffffffu;

int64_t align256(int64_t n) { return (n + 255) / 256 * 256; }

// Device view of the plan (pointers into the workspace).
struct DevPlan {
    int64_t num_fields, slots, width, total_rows;
    bool none_reads_padding_row;  // see cpu::TbePlan
    const int64_t *rows, *dims, *offsets, *row_base;         // per table
    const int64_t *table, *bag, *slot_begin, *col_begin, *pooling;  // per field
    const int64_t* slot_field;                               // per slot
    const unsigned long long* table_ptr;                     // per table: its (gradient) table, or 0
};

struct Layout {
    int64_t plan_bytes, bad_bytes, keys_bytes, vals_bytes, scale_bytes, sort_bytes;
    int64_t total() const { return plan_bytes + bad_bytes + 2 * keys_bytes + 2 * vals_bytes + scale_bytes + sort_bytes; }
};

int64_t plan_words(const cpu::TbePlan& p) { return 5 * p.num_tables + 5 * p.num_fields + p.slots; }

size_t sort_scratch_bytes(int64_t n) {
    size_t bytes = 0;
    check(cub::DeviceRadixSort::SortPairs(nullptr, bytes, static_cast<const unsigned long long*>(nullptr),
                                          static_cast<unsigned long long*>(nullptr),
                                          static_cast<const long long*>(nullptr), static_cast<long long*>(nullptr),
                                          static_cast<int>(n)),
          "cub::DeviceRadixSort::SortPairs (size query)");
    return bytes;
}

Layout layout_for(const cpu::TbePlan& p, int64_t batch) {
    const int64_t n = batch * p.slots;
    Layout l{};
    l.plan_bytes = align256(plan_words(p) * int64_t(sizeof(int64_t)));
    l.bad_bytes = 256;
    l.keys_bytes = align256(n * int64_t(sizeof(unsigned long long)));
    l.vals_bytes = align256(n * int64_t(sizeof(long long)));
    l.scale_bytes = align256(batch * p.num_fields * int64_t(sizeof(float)));
    l.sort_bytes = align256(static_cast<int64_t>(sort_scratch_bytes(n)));
    return l;
}

DevPlan dev_plan(const cpu::TbePlan& p, void* workspace) {
    const int64_t* w = static_cast<const int64_t*>(workspace);
    const int64_t T = p.num_tables, F = p.num_fields;
    DevPlan d{};
    d.num_fields = F;
    d.slots = p.slots;
    d.width = p.width;
    d.total_rows = p.total_rows;
    d.none_reads_padding_row = p.none_reads_padding_row;
    d.rows = w;
    d.dims = w + T;
    d.offsets = w + 2 * T;
    d.row_base = w + 3 * T;
    d.table = w + 4 * T;
    d.bag = d.table + F;
    d.slot_begin = d.bag + F;
    d.col_begin = d.slot_begin + F;
    d.pooling = d.col_begin + F;
    d.slot_field = d.pooling + F;
    d.table_ptr = reinterpret_cast<const unsigned long long*>(d.slot_field + p.slots);
    return d;
}

}  // namespace

void tbe_upload_plan(void* stream, const cpu::TbePlan& p, const void* const* tables, void* workspace) {
    std::vector<int64_t> h;
    h.reserve(static_cast<size_t>(plan_words(p)));
    h.insert(h.end(), p.rows.begin(), p.rows.end());
    h.insert(h.end(), p.dims.begin(), p.dims.end());
    h.insert(h.end(), p.offsets.begin(), p.offsets.end());
    h.insert(h.end(), p.row_base.begin(), p.row_base.end());
    h.insert(h.end(), p.table.begin(), p.table.end());
    h.insert(h.end(), p.bag.begin(), p.bag.end());
    h.insert(h.end(), p.slot_begin.begin(), p.slot_begin.end());
    h.insert(h.end(), p.col_begin.begin(), p.col_begin.end());
    for (int32_t v : p.pooling) h.push_back(v);
    h.insert(h.end(), p.slot_field.begin(), p.slot_field.end());
    for (int64_t t = 0; t < p.num_tables; ++t)
        h.push_back(tables ? static_cast<int64_t>(reinterpret_cast<uintptr_t>(tables[t])) : 0);
    // Pageable source: the copy is staged before cudaMemcpyAsync returns, so
    // `h` may go out of scope right after.
    check(cudaMemcpyAsync(workspace, h.data(), h.size() * sizeof(int64_t), cudaMemcpyHostToDevice, as_stream(stream)),
          "cudaMemcpyAsync (TBE plan)");
}

namespace {

// A real row of table t: not padding (0) and inside the table.
__device__ __forceinline__ bool live_id(const DevPlan& d, int64_t t, int64_t id) { return id > 0 && id < d.rows[t]; }

__global__ void check_ids_kernel(DevPlan d, int64_t n, const int64_t* __restrict__ ids,
                                 unsigned long long* __restrict__ first_bad) {
    for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
        const int64_t id = ids[k];
        const int64_t rows = d.rows[d.table[d.slot_field[k % d.slots]]];
        if (id < 0 || id >= rows) atomicMin(first_bad, static_cast<unsigned long long>(k));
    }
}

__global__ void forward_kernel(DevPlan d, int64_t bags, const int64_t* __restrict__ ids, float* __restrict__ out) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = int64_t(gridDim.x) * kWarpsPerBlock;
    for (int64_t w = blockIdx.x * int64_t(kWarpsPerBlock) + (threadIdx.x >> 5); w < bags; w += warps) {
        const int64_t b = w / d.num_fields, f = w % d.num_fields;
        const int64_t t = d.table[f], dim = d.dims[t], bag_size = d.bag[f];
        const float* table = reinterpret_cast<const float*>(d.table_ptr[t]);
        const int64_t* bag = ids + b * d.slots + d.slot_begin[f];
        float* o = out + b * d.width + d.col_begin[f];
        if (d.pooling[f] == DYNREC_POOLING_NONE) {
            for (int64_t s = 0; s < bag_size; ++s) {
                const int64_t id = bag[s];
                const bool live = live_id(d, t, id) || (id == 0 && d.none_reads_padding_row);
                for (int64_t j = lane; j < dim; j += 32) o[s * dim + j] = live ? table[id * dim + j] : 0.0f;
            }
            continue;
        }
        int64_t count = 0;
        for (int64_t s = 0; s < bag_size; ++s) count += live_id(d, t, bag[s]);
        for (int64_t j = lane; j < dim; j += 32) {
            float acc = 0.0f;
            for (int64_t s = 0; s < bag_size; ++s)
                if (live_id(d, t, bag[s])) acc += table[bag[s] * dim + j];
            if (d.pooling[f] == DYNREC_POOLING_MEAN) acc = count > 0 ? acc / float(count) : 0.0f;
            o[j] = acc;
        }
    }
}

__global__ void scale_kernel(DevPlan d, int64_t bags, const int64_t* __restrict__ ids, float* __restrict__ scale) {
    for (int64_t w = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; w < bags; w += int64_t(gridDim.x) * blockDim.x) {
        const int64_t b = w / d.num_fields, f = w % d.num_fields;
        float s = 1.0f;
        if (d.pooling[f] == DYNREC_POOLING_MEAN) {
            const int64_t* bag = ids + b * d.slots + d.slot_begin[f];
            int64_t count = 0;
            for (int64_t k = 0; k < d.bag[f]; ++k) count += live_id(d, d.table[f], bag[k]);
            s = 1.0f / float(count > 0 ? count : 1);
        }
        scale[w] = s;
    }
}

__global__ void keys_kernel(DevPlan d, int64_t n, const int64_t* __restrict__ ids,
                            unsigned long long* __restrict__ keys, long long* __restrict__ vals) {
    for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < n; k += int64_t(gridDim.x) * blockDim.x) {
        const int64_t id = ids[k], t = d.table[d.slot_field[k % d.slots]];
        const int64_t grow = live_id(d, t, id) ? d.row_base[t] + id : d.total_rows;  // padding or masked: the sentinel
        keys[k] = static_cast<unsigned long long>(grow);
        vals[k] = k;
    }
}

struct DevOptimizer {
    int32_t kind;
    float lr, eps, beta1, beta2;
    int64_t step;
    float* state1;
    float* state2;
    int64_t* row_steps;
};

// `init` plus element j of every occurrence in the segment [first, last) (all occurrences of one row),
// added in their sorted (sample/slot) order.
__device__ float segment_grad(const DevPlan& d, const unsigned long long*, const long long* __restrict__ vals,
                              int64_t first, int64_t last, const float* __restrict__ grad_out,
                              const float* __restrict__ scale, int64_t dim, int64_t j, float init = 0.0f) {
    float g = init;
    for (int64_t i = first; i < last; ++i) {
        const int64_t k = vals[i], b = k / d.slots, slot = k % d.slots, f = d.slot_field[slot];
        const int64_t col = d.col_begin[f] + (d.pooling[f] == DYNREC_POOLING_NONE ? (slot - d.slot_begin[f]) * dim : 0);
        g += grad_out[b * d.width + col + j] * scale[b * d.num_fields + f];
    }
    return g;
}

// Whether sorted position i starts the segment of a real row (not padding, not a repeat of the
// previous key); *last receives one past the segment's end.
__device__ __forceinline__ bool segment_head(const unsigned long long* __restrict__ keys, int64_t n, int64_t i,
                                             unsigned long long sentinel, int64_t* last) {
    const unsigned long long key = keys[i];
    if (key == sentinel || (i > 0 && keys[i - 1] == key)) return false;
    int64_t end = i + 1;
    while (end < n && keys[end] == key) ++end;
    *last = end;
    return true;
}

__global__ void update_kernel(DevPlan d, DevOptimizer opt, int64_t n, const unsigned long long* __restrict__ keys,
                              const long long* __restrict__ vals, const float* __restrict__ grad_out,
                              const float* __restrict__ scale, float* __restrict__ weights) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = int64_t(gridDim.x) * kWarpsPerBlock;
    const unsigned long long sentinel = static_cast<unsigned long long>(d.total_rows);
    for (int64_t i = blockIdx.x * int64_t(kWarpsPerBlock) + (threadIdx.x >> 5); i < n; i += warps) {
        int64_t last = 0;
        if (!segment_head(keys, n, i, sentinel, &last)) continue;  // warp-uniform
        const int64_t grow = static_cast<int64_t>(keys[i]);
        const int64_t f0 = d.slot_field[vals[i] % d.slots], t = d.table[f0], dim = d.dims[t];
        const int64_t e = d.offsets[t] + (grow - d.row_base[t]) * dim;
        float* w = weights + e;
        if (opt.kind == DYNREC_SPARSE_SGD) {
            for (int64_t j = lane; j < dim; j += 32) w[j] -= opt.lr * segment_grad(d, keys, vals, i, last, grad_out, scale, dim, j);
        } else if (opt.kind == DYNREC_SPARSE_ROWWISE_ADAGRAD) {
            float sq = 0.0f;
            for (int64_t j = lane; j < dim; j += 32) {
                const float g = segment_grad(d, keys, vals, i, last, grad_out, scale, dim, j);
                sq += g * g;
            }
            for (int off = 16; off > 0; off >>= 1) sq += __shfl_xor_sync(kFullMask, sq, off);
            float state = 0.0f;
            if (lane == 0) {
                state = opt.state1[grow] + sq / float(dim);
                opt.state1[grow] = state;
            }
            state = __shfl_sync(kFullMask, state, 0);
            const float denom = sqrtf(state) + opt.eps;
            for (int64_t j = lane; j < dim; j += 32)
                w[j] -= opt.lr * segment_grad(d, keys, vals, i, last, grad_out, scale, dim, j) / denom;
        } else {
            long long k = opt.step;
            if (opt.row_steps != nullptr) {
                if (lane == 0) k = ++opt.row_steps[grow];
                k = __shfl_sync(kFullMask, k, 0);
            }
            const double bc1 = 1.0 - pow(double(opt.beta1), double(k));
            const double bc2 = 1.0 - pow(double(opt.beta2), double(k));
            const float step_size = float(double(opt.lr) * sqrt(bc2) / bc1);
            float* m = opt.state1 + e;
            float* v = opt.state2 + e;
            for (int64_t j = lane; j < dim; j += 32) {
                const float g = segment_grad(d, keys, vals, i, last, grad_out, scale, dim, j);
                const float mj = opt.beta1 * m[j] + (1.0f - opt.beta1) * g;
                const float vj = opt.beta2 * v[j] + (1.0f - opt.beta2) * g * g;
                m[j] = mj;
                v[j] = vj;
                w[j] -= step_size * (mj / (sqrtf(vj) + opt.eps));
            }
        }
    }
}

// Tables backward: the warp at a segment head adds the segment's occurrences, in order, to its row of
// the row's gradient table (d.table_ptr): deterministic, the CPU reference's order.
__global__ void accumulate_kernel(DevPlan d, int64_t n, const unsigned long long* __restrict__ keys,
                                  const long long* __restrict__ vals, const float* __restrict__ grad_out,
                                  const float* __restrict__ scale) {
    const int lane = threadIdx.x & 31;
    const int64_t warps = int64_t(gridDim.x) * kWarpsPerBlock;
    const unsigned long long sentinel = static_cast<unsigned long long>(d.total_rows);
    for (int64_t i = blockIdx.x * int64_t(kWarpsPerBlock) + (threadIdx.x >> 5); i < n; i += warps) {
        int64_t last = 0;
        if (!segment_head(keys, n, i, sentinel, &last)) continue;  // warp-uniform
        const int64_t grow = static_cast<int64_t>(keys[i]);
        const int64_t t = d.table[d.slot_field[vals[i] % d.slots]], dim = d.dims[t];
        float* row = reinterpret_cast<float*>(d.table_ptr[t]) + (grow - d.row_base[t]) * dim;
        for (int64_t j = lane; j < dim; j += 32) row[j] = segment_grad(d, keys, vals, i, last, grad_out, scale, dim, j, row[j]);
    }
}

int end_bit_for(int64_t total_rows) {
    int bits = 1;
    while (bits < 64 && (static_cast<unsigned long long>(total_rows) >> bits) != 0) ++bits;
    return bits;
}

}  // namespace

int64_t tbe_workspace_bytes(const cpu::TbePlan& plan, int64_t batch) { return layout_for(plan, batch).total(); }

int64_t tbe_first_invalid_id(void* stream, const cpu::TbePlan& p, int64_t batch, const int64_t* ids, void* workspace,
                             int64_t* bad_id) {
    const Layout l = layout_for(p, batch);
    cudaStream_t s = as_stream(stream);
    auto* first_bad = reinterpret_cast<unsigned long long*>(static_cast<char*>(workspace) + l.plan_bytes);
    check(cudaMemsetAsync(first_bad, 0xff, sizeof(unsigned long long), s), "cudaMemsetAsync");
    const int64_t n = batch * p.slots;
    check_ids_kernel<<<blocks_for(n, 256), 256, 0, s>>>(dev_plan(p, workspace), n, ids, first_bad);
    check_launch("check_ids_kernel");
    unsigned long long first = 0;
    check(cudaMemcpyAsync(&first, first_bad, sizeof first, cudaMemcpyDeviceToHost, s), "cudaMemcpyAsync (ids check)");
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize (ids check)");
    if (first == ~0ull) return -1;
    const int64_t k = static_cast<int64_t>(first);
    // On the caller's stream: a plain cudaMemcpy runs on the legacy default
    // stream, which waits for (and blocks) every blocking stream on the device.
    check(cudaMemcpyAsync(bad_id, ids + k, sizeof(int64_t), cudaMemcpyDeviceToHost, s), "cudaMemcpyAsync (bad id)");
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize (bad id)");
    return k;
}

void tbe_forward(void* stream, const cpu::TbePlan& p, int64_t batch, const int64_t* ids, float* out, void* workspace) {
    const int64_t bags = batch * p.num_fields;
    forward_kernel<<<blocks_for(bags, kWarpsPerBlock), kThreads, 0, as_stream(stream)>>>(dev_plan(p, workspace), bags,
                                                                                        ids, out);
    check_launch("forward_kernel");
}

namespace {

// The batch's occurrences sorted by global row (padding last, as the sentinel), with the
// per-bag scales: what both backward kernels walk.
struct Sorted {
    const unsigned long long* keys;
    const long long* vals;
    const float* scale;
};

Sorted sort_occurrences(void* stream, const cpu::TbePlan& p, int64_t batch, const int64_t* ids, void* workspace) {
    const Layout l = layout_for(p, batch);
    cudaStream_t s = as_stream(stream);
    char* cursor = static_cast<char*>(workspace) + l.plan_bytes + l.bad_bytes;
    auto* keys_in = reinterpret_cast<unsigned long long*>(cursor);
    cursor += l.keys_bytes;
    auto* keys_out = reinterpret_cast<unsigned long long*>(cursor);
    cursor += l.keys_bytes;
    auto* vals_in = reinterpret_cast<long long*>(cursor);
    cursor += l.vals_bytes;
    auto* vals_out = reinterpret_cast<long long*>(cursor);
    cursor += l.vals_bytes;
    auto* scale = reinterpret_cast<float*>(cursor);
    cursor += l.scale_bytes;
    void* sort_scratch = cursor;

    const DevPlan d = dev_plan(p, workspace);
    const int64_t n = batch * p.slots, bags = batch * p.num_fields;
    scale_kernel<<<blocks_for(bags, 256), 256, 0, s>>>(d, bags, ids, scale);
    check_launch("scale_kernel");
    keys_kernel<<<blocks_for(n, 256), 256, 0, s>>>(d, n, ids, keys_in, vals_in);
    check_launch("keys_kernel");
    size_t sort_bytes = static_cast<size_t>(l.sort_bytes);
    check(cub::DeviceRadixSort::SortPairs(sort_scratch, sort_bytes, keys_in, keys_out, vals_in, vals_out,
                                          static_cast<int>(n), 0, end_bit_for(p.total_rows), s),
          "cub::DeviceRadixSort::SortPairs");
    return {keys_out, vals_out, scale};
}

}  // namespace

void tbe_backward_update(void* stream, const cpu::TbePlan& p, float* weights, int64_t batch, const int64_t* ids,
                         const float* grad_out, const cpu::SparseOptimizer& o, void* workspace) {
    const Sorted sorted = sort_occurrences(stream, p, batch, ids, workspace);
    const int64_t n = batch * p.slots;
    const DevOptimizer opt{o.kind, o.lr, o.eps, o.beta1, o.beta2, o.step, o.state1, o.state2, o.row_steps};
    update_kernel<<<blocks_for(n, kWarpsPerBlock), kThreads, 0, as_stream(stream)>>>(
        dev_plan(p, workspace), opt, n, sorted.keys, sorted.vals, grad_out, sorted.scale, weights);
    check_launch("update_kernel");
}

void tbe_backward_accumulate(void* stream, const cpu::TbePlan& p, int64_t batch, const int64_t* ids,
                             const float* grad_out, void* workspace) {
    const Sorted sorted = sort_occurrences(stream, p, batch, ids, workspace);
    const int64_t n = batch * p.slots;
    accumulate_kernel<<<blocks_for(n, kWarpsPerBlock), kThreads, 0, as_stream(stream)>>>(
        dev_plan(p, workspace), n, sorted.keys, sorted.vals, grad_out, sorted.scale);
    check_launch("accumulate_kernel");
}

}  // namespace dynrec::cuda
