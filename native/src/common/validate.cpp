#include "common/validate.h"

#include <cmath>
#include <string>

#include "common/call_device.h"
#include "common/cuda_runtime_probe.h"

namespace dynrec {

void check_device(int32_t device) {
    if (device == DYNREC_DEVICE_CPU) return;
    if (device == DYNREC_DEVICE_CUDA) {
        if (!cuda_compiled())
            throw_invalid("device: DYNREC_DEVICE_CUDA requested but this library was built without CUDA");
        if (cuda_device_count() <= 0)
            throw_invalid("device: DYNREC_DEVICE_CUDA requested but no CUDA device is available");
        return;
    }
    throw_invalid("device: unknown device " + std::to_string(device) + " (expected 0 = CPU or 1 = CUDA)");
}

void check_positive(const char* name, int64_t value) {
    if (value <= 0) throw_invalid(std::string(name) + ": must be > 0, got " + std::to_string(value));
    if (value > kMaxElements) throw_invalid(std::string(name) + ": too large (" + std::to_string(value) + ")");
}

void check_non_negative(const char* name, int64_t value) {
    if (value < 0) throw_invalid(std::string(name) + ": must be >= 0, got " + std::to_string(value));
    if (value > kMaxElements) throw_invalid(std::string(name) + ": too large (" + std::to_string(value) + ")");
}

void check_not_null(const char* name, const void* ptr) {
    if (ptr == nullptr) throw_invalid(std::string(name) + ": must not be NULL");
}

void check_activation(const char* name, int32_t activation) {
    if (activation < DYNREC_ACT_NONE || activation > DYNREC_ACT_LEAKY_RELU)
        throw_invalid(std::string(name) + ": unknown activation " + std::to_string(activation));
}

void check_finite(const char* name, float value) {
    if (!std::isfinite(value)) throw_invalid(std::string(name) + ": must be finite");
}

void check_flag(const char* name, int32_t value) {
    if (value != 0 && value != 1)
        throw_invalid(std::string(name) + ": must be 0 or 1, got " + std::to_string(value));
}

void check_gate_position(const char* name, int32_t position) {
    if (position != DYNREC_GATE_OUTPUT && position != DYNREC_GATE_INPUT)
        throw_invalid(std::string(name) + ": unknown gate position " + std::to_string(position) +
                      " (expected 0 = DYNREC_GATE_OUTPUT or 1 = DYNREC_GATE_INPUT)");
}

void check_workspace(const char* size_export, int64_t need, const void* workspace, int64_t workspace_bytes) {
    if (workspace_bytes < need || (need > 0 && workspace == nullptr))
        throw_invalid("workspace: needs " + std::to_string(need) + " bytes (" + size_export + "), got " +
                      std::to_string(workspace_bytes) + (workspace ? "" : " and NULL"));
    // The kernels carve int64 and pointer arrays out of it: a misaligned base would be a
    // misaligned-address fault on the GPU, which poisons the whole CUDA context.
    const auto misalignment = reinterpret_cast<uintptr_t>(workspace) % kWorkspaceAlignment;
    if (need > 0 && misalignment != 0)
        throw_invalid("workspace: must be " + std::to_string(kWorkspaceAlignment) +
                      "-byte aligned (as cudaMalloc, PyTorch and TorchSharp allocations are); this address is " +
                      std::to_string(misalignment) + " bytes past a multiple");
}

int64_t checked_elements(const char* what, std::initializer_list<int64_t> dims) {
    int64_t total = 1;
    for (int64_t d : dims) {
        if (d < 0) throw_invalid(std::string(what) + ": negative dimension");
        if (d != 0 && total > kMaxElements / d)
            throw_invalid(std::string(what) + ": size overflows (more than 2^40 elements)");
        total *= d;
    }
    return total;
}

void check_pointer_location(int32_t device, const char* name, const void* ptr) {
    if (ptr == nullptr || !cuda_compiled() || cuda_device_count() <= 0) return;
    const int ordinal = cuda_pointer_device(ptr);
    if (device == DYNREC_DEVICE_CPU && ordinal >= 0)
        throw_invalid(std::string(name) + ": is a CUDA device pointer but device = CPU");
    if (device == DYNREC_DEVICE_CUDA) {
        if (ordinal < 0) throw_invalid(std::string(name) + ": is a host pointer but device = CUDA");
        pin_call_device(name, ordinal);
    }
}

void check_locations(int32_t device,
                     std::initializer_list<std::pair<const char*, const void*>> pointers) {
    for (const auto& p : pointers) check_pointer_location(device, p.first, p.second);
}

}  // namespace dynrec
