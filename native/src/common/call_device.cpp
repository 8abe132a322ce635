#include "common/call_device.h"

#include <utility>

#include "common/cuda_runtime_probe.h"
#include "common/error.h"

namespace dynrec {

namespace {
thread_local CallDevice t_call;
}  // namespace

CallDeviceScope::CallDeviceScope() noexcept : saved_(std::move(t_call)) { t_call = CallDevice{}; }

CallDeviceScope::~CallDeviceScope() {
    if (t_call.restore >= 0) cuda_select_device(t_call.restore);
    t_call = std::move(saved_);
}

void pin_call_device(const char* name, int ordinal) {
    if (t_call.pinned < 0) {
        const int current = cuda_current_device();
        if (current != ordinal) {
            if (!cuda_select_device(ordinal))
                throw Error(DYNREC_ERR_CUDA, std::string(name) + ": cannot select its CUDA device " +
                                                 std::to_string(ordinal));
            t_call.restore = current;
        }
        t_call.pinned = ordinal;
        t_call.pinned_by = name;
        return;
    }
    if (ordinal != t_call.pinned)
        throw_invalid(std::string(name) + ": is on CUDA device " + std::to_string(ordinal) + " but " +
                      t_call.pinned_by + " is on CUDA device " + std::to_string(t_call.pinned) +
                      " (all pointers of one call must be on the same device)");
}

}  // namespace dynrec
