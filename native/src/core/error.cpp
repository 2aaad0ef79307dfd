#include "error.h"

#include <cstdarg>
#include <cstdio>

namespace dk {

namespace {
thread_local std::string last_error;
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

void clear_error() { last_error.clear(); }

} // namespace dk

extern "C" const char *dk_last_error(void) { return dk::last_error.c_str(); }
