// Error plumbing for the C boundary: a typed exception carrying a status,
// the thread-local last-error message, and the guard every export runs in.
#pragma once

#include <stdexcept>
#include <string>

#include "common/call_device.h"
#include "dynrec/dynrec.h"

namespace dynrec {

// Thrown inside the library; converted to a status at the export boundary.
class Error : public std::runtime_error {
public:
    Error(dynrec_status status, const std::string& message)
        : std::runtime_error(message), status_(status) {}
    dynrec_status status() const noexcept { return status_; }

private:
    dynrec_status status_;
};

[[noreturn]] void throw_invalid(const std::string& message);
[[noreturn]] void throw_unsupported(const std::string& message);

// Stores `message` as this thread's last error and returns `status`.
dynrec_status set_last_error(dynrec_status status, const char* message) noexcept;
void clear_last_error() noexcept;

// Runs `body` and maps every exception to a status + message. Never throws.
// The call runs on the CUDA device of its pointers (see call_device.h).
template <typename Body>
dynrec_status guard(const char* function, Body&& body) noexcept {
    try {
        clear_last_error();
        const CallDeviceScope call_device;  // restores the caller's CUDA device on every exit path
        body();
        return DYNREC_OK;
    } catch (const Error& e) {
        return set_last_error(e.status(), (std::string(function) + ": " + e.what()).c_str());
    } catch (const std::bad_alloc&) {
        return set_last_error(DYNREC_ERR_OUT_OF_MEMORY, (std::string(function) + ": out of host memory").c_str());
    } catch (const std::exception& e) {
        return set_last_error(DYNREC_ERR_INTERNAL, (std::string(function) + ": internal error: " + e.what()).c_str());
    } catch (...) {
        return set_last_error(DYNREC_ERR_INTERNAL, "internal error: unknown exception");
    }
}

}  // namespace dynrec
