// Argument checks shared by every export. Each failure throws
// dynrec::Error(INVALID_ARGUMENT) with a message that names the argument.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <utility>

#include "common/error.h"

namespace dynrec {

// Largest element count we accept for one buffer: keeps every byte size
// (count * sizeof(float)) and every index product inside int64_t.
constexpr int64_t kMaxElements = int64_t(1) << 40;

void check_device(int32_t device);
void check_positive(const char* name, int64_t value);
void check_non_negative(const char* name, int64_t value);
void check_not_null(const char* name, const void* ptr);
void check_activation(const char* name, int32_t activation);
void check_finite(const char* name, float value);
void check_flag(const char* name, int32_t value);  // 0 or 1
void check_gate_position(const char* name, int32_t position);

// Alignment every CUDA workspace must have.
constexpr uintptr_t kWorkspaceAlignment = 16;

// CUDA entry points: workspace must hold `need` bytes (naming the size export) and be aligned.
void check_workspace(const char* size_export, int64_t need, const void* workspace, int64_t workspace_bytes);

// a * b (* c) with overflow and kMaxElements checks; `what` names the buffer.
int64_t checked_elements(const char* what, std::initializer_list<int64_t> dims);

// The pointers of one call must live on the device the call names: a host
// pointer with device = CUDA (or a device pointer with device = CPU) is an
// INVALID_ARGUMENT naming the pointer. NULL pointers are skipped (optional
// arguments are checked for presence separately). With device = CUDA the
// pointers must also share one GPU, and the call then runs on that GPU
// (call_device.h).
void check_pointer_location(int32_t device, const char* name, const void* ptr);
void check_locations(int32_t device,
                     std::initializer_list<std::pair<const char*, const void*>> pointers);

}  // namespace dynrec
