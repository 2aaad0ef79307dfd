// Errors inside the library: implementations throw dk::Error (or let a vendor exception escape);
// the entry points in api_*.cpp catch everything and turn it into a dk_status plus the calling
// thread's last-error message. Nothing is thrown across the C ABI.
#pragma once

#include "deepkern.h"

#include <stdexcept>
#include <string>

namespace dk {

class Error : public std::runtime_error {
public:
    Error(dk_status status, const std::string &message) : std::runtime_error(message), status_(status) {}
    dk_status status() const { return status_; }

private:
    dk_status status_;
};

// printf-style message builder.
std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

[[noreturn]] void fail(dk_status status, const std::string &message);

// Sets the thread's last error and returns `status` (for plain returns from entry points).
dk_status set_error(dk_status status, const std::string &message);
void clear_error();

// An implementation's supports() that declines a descriptor may record why (returns false): when
// no implementation of the backend supports the descriptor, the entry point's DK_UNSUPPORTED
// message ends with the reason (e.g. "cuda: groups > 1 is not supported").
bool decline(const std::string &reason);
// ": <reason>" of the last decline on this thread since the last call, or ""; clears it.
std::string take_declined_reason();
// The entry points' DK_UNSUPPORTED failure: "no <op> implementation supports this descriptor" and
// the reason a supports() gave.
[[noreturn]] void fail_unsupported(const char *op);

// Runs `body` and converts every exception into a status and message. Returns DK_OK on success.
template <class F>
dk_status guarded(F &&body) noexcept {
    try {
        clear_error();
        body();
        return DK_OK;
    } catch (const Error &e) {
        return set_error(e.status(), e.what());
    } catch (const std::bad_alloc &) {
        return set_error(DK_OUT_OF_MEMORY, "out of memory");
    } catch (const std::exception &e) {
        return set_error(DK_INTERNAL, std::string("internal error: ") + e.what());
    } catch (...) {
        return set_error(DK_INTERNAL, "internal error: unknown exception");
    }
}

} // namespace dk
