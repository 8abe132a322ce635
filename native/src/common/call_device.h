// The CUDA device one export call runs on: the device that owns its pointers
// (as PyTorch's device guard does for an op's tensors). The first CUDA pointer
// an export validates pins the call to its device, switching the calling
// thread's current device if needed; a later pointer on another device is an
// INVALID_ARGUMENT naming both. When the export returns, the thread's previous
// current device is restored, so callers see no side effect.
#pragma once

#include <string>

namespace dynrec {

struct CallDevice {
    int pinned = -1;        // ordinal the call runs on; -1 = no CUDA pointer seen yet
    int restore = -1;       // current device to restore at the end; -1 = unchanged
    std::string pinned_by;  // the pointer argument that pinned it (for messages)
};

// One per export call (created by guard()); nests, restoring the outer call's state.
class CallDeviceScope {
public:
    CallDeviceScope() noexcept;
    ~CallDeviceScope();
    CallDeviceScope(const CallDeviceScope&) = delete;
    CallDeviceScope& operator=(const CallDeviceScope&) = delete;

private:
    CallDevice saved_;
};

// Pins the current call to `ordinal` (device of the pointer argument `name`) or
// checks that it matches the device already pinned. Throws INVALID_ARGUMENT on a
// mismatch, DYNREC_ERR_CUDA when the device cannot be selected.
void pin_call_device(const char* name, int ordinal);

}  // namespace dynrec
