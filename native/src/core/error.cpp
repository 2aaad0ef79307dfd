#include "error.h"

#include <cstdarg>
#include <cstdio>

namespace dk {

namespace {
thread_local std::string last_error;
thread_local std::string declined; // the last supports() refusal's reason (decline)
}

std::string format(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

void fail(dk_status status, const std::string &message) { throw Error(status, message); }

dk_status set_error(dk_status status, const std::string &message) {
    last_error = message;
    return status;
}

void clear_error() {
    last_error.clear();
    declined.clear();
}

bool decline(const std::string &reason) {
    declined = reason;
    return false;
}

std::string take_declined_reason() {
    std::string r = declined.empty() ? "" : ": " + declined;
    declined.clear();
    return r;
}

void fail_unsupported(const char *op) {
    fail(DK_UNSUPPORTED, format("no %s implementation supports this descriptor%s", op, take_declined_reason().c_str()));
}

} // namespace dk

extern "C" const char *dk_last_error(void) { return dk::last_error.c_str(); }
