// Emulated cub::DeviceRadixSort::SortPairs (CUB 1.x signature, as in CUDA
// 11.8): a stable sort on key bits [begin_bit, end_bit), like the radix
// sort. The size query (NULL temp storage) answers a size that grows with
// num_items; the sorting call checks the caller passed at least that much and
// writes all of it, so an undersized workspace shows under ASan. On a
// capturing stream the sort is recorded (checked and run at graph launch).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

namespace cub {

struct DeviceRadixSort {
    template <typename KeyT, typename ValueT, typename NumItemsT>
    static size_t emu_temp_bytes(NumItemsT num_items) {
        const size_t n = num_items > 0 ? static_cast<size_t>(num_items) : 0;
        return n * (sizeof(KeyT) + sizeof(ValueT)) + 1024;
    }

    template <typename KeyT, typename ValueT, typename NumItemsT>
    static cudaError_t SortPairs(void* d_temp_storage, size_t& temp_storage_bytes, const KeyT* d_keys_in,
                                 KeyT* d_keys_out, const ValueT* d_values_in, ValueT* d_values_out,
                                 NumItemsT num_items, int begin_bit = 0, int end_bit = sizeof(KeyT) * 8,
                                 cudaStream_t stream = nullptr, bool debug_synchronous = false) {
        (void)debug_synchronous;
        const size_t need = emu_temp_bytes<KeyT, ValueT>(num_items);
        if (d_temp_storage == nullptr) {
            temp_storage_bytes = need;
            return cudaSuccess;
        }
        const int device = emu::stream_device(stream);
        if (temp_storage_bytes < need)
            emu::fatal("cub::DeviceRadixSort::SortPairs: temp_storage_bytes %zu is below the size query's %zu",
                       temp_storage_bytes, need);
        cudaError_t error;
        const emu::Issue how = emu::issue(stream, "cub::DeviceRadixSort::SortPairs", &error);
        if (how == emu::Issue::Refused) return error;
        if (begin_bit < 0 || end_bit > int(sizeof(KeyT) * 8) || begin_bit > end_bit)
            return how == emu::Issue::Capture
                       ? emu::capture_error(stream, cudaErrorInvalidValue, "cub::DeviceRadixSort::SortPairs",
                                            "bits outside the key")
                       : emu::set_error(cudaErrorInvalidValue);
        // The sort itself: on a capturing stream, recorded and run at every graph launch.
        auto sort = [=](cudaStream_t) {
            if (emu::device_of_range(d_temp_storage, need) != device)
                emu::fatal("cub::DeviceRadixSort::SortPairs: temp storage (%zu bytes at %p) is not device memory of "
                           "device %d",
                           need, d_temp_storage, device);
            std::memset(d_temp_storage, 0xA5, need);
            if (num_items <= 0) return;
            const size_t n = static_cast<size_t>(num_items);
            const struct {
                const void* p;
                size_t bytes;
                const char* name;
            } ranges[] = {{d_keys_in, n * sizeof(KeyT), "d_keys_in"},
                          {d_keys_out, n * sizeof(KeyT), "d_keys_out"},
                          {d_values_in, n * sizeof(ValueT), "d_values_in"},
                          {d_values_out, n * sizeof(ValueT), "d_values_out"}};
            for (const auto& r : ranges)
                if (emu::device_of_range(r.p, r.bytes) != device)
                    emu::fatal(
                        "cub::DeviceRadixSort::SortPairs: %s (%zu bytes at %p) is not device memory of device %d",
                        r.name, r.bytes, r.p, device);
            const int bits = end_bit - begin_bit;
            auto digit = [&](const KeyT& key) {
                using U = std::make_unsigned_t<KeyT>;
                const U u = static_cast<U>(key) >> begin_bit;
                return bits >= int(sizeof(U) * 8) ? u : static_cast<U>(u & ((U(1) << bits) - 1));
            };
            std::vector<size_t> order(n);
            std::iota(order.begin(), order.end(), size_t(0));
            std::stable_sort(order.begin(), order.end(),
                             [&](size_t a, size_t b) { return digit(d_keys_in[a]) < digit(d_keys_in[b]); });
            std::vector<KeyT> keys(n);
            std::vector<ValueT> values(n);
            for (size_t i = 0; i < n; ++i) keys[i] = d_keys_in[order[i]], values[i] = d_values_in[order[i]];
            std::copy(keys.begin(), keys.end(), d_keys_out);
            std::copy(values.begin(), values.end(), d_values_out);
        };
        if (how == emu::Issue::Capture) emu::record(stream, "cub::DeviceRadixSort::SortPairs", sort);
        else sort(stream);
        return cudaSuccess;
    }
};

}  // namespace cub
