#include "common/error.h"

#include <cstring>

namespace dynrec {

namespace {
// Library-owned, per thread: callers never free it and threads never race on it.
thread_local std::string t_last_error;
}  // namespace

void throw_invalid(const std::string& message) { throw Error(DYNREC_ERR_INVALID_ARGUMENT, message); }
void throw_unsupported(const std::string& message) { throw Error(DYNREC_ERR_UNSUPPORTED, message); }

dynrec_status set_last_error(dynrec_status status, const char* message) noexcept {
    try {
        t_last_error = message;
    } catch (...) {
        // Out of memory while recording the message: keep the status.
    }
    return status;
}

void clear_last_error() noexcept { t_last_error.clear(); }

}  // namespace dynrec

extern "C" DYNREC_API const char* dynrec_last_error(void) { return dynrec::t_last_error.c_str(); }
