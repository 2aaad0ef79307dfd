// Helpers for the CUDA kernel tests: device buffers through the dkc_* API (so the same tests run
// on the emulator and on a GPU), random data, and the abs + rel comparison with a report.
#pragma once

#include "check.h"
#include "dk_cuda.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace dkct {

// The call succeeded (the message is read after the call).
#define DKC_OK(call) ::dkct::ok((call), __FILE__, __LINE__, #call)

inline bool ok(int status, const char *file, int line, const char *what) {
    return dkt::check(status == DK_OK, file, line, std::string(what) + " -- " + dkc_last_error());
}

template <class T>
struct Dev {
    T *p = nullptr;
    size_t n = 0;
    explicit Dev(size_t count) : n(count) { DKC_OK(dkc_malloc(reinterpret_cast<void **>(&p), int64_t(n * sizeof(T)))); }
    explicit Dev(const std::vector<T> &h) : Dev(h.size()) { put(h); }
    Dev(const Dev &) = delete;
    Dev &operator=(const Dev &) = delete;
    ~Dev() { dkc_free(p); }
    void put(const std::vector<T> &h) {
        DKC_OK(dkc_memcpy(p, h.data(), int64_t(h.size() * sizeof(T)), DKC_HOST_TO_DEVICE, nullptr));
    }
    std::vector<T> get() const {
        std::vector<T> h(n);
        DKC_OK(dkc_stream_synchronize(nullptr));
        DKC_OK(dkc_memcpy(h.data(), p, int64_t(n * sizeof(T)), DKC_DEVICE_TO_HOST, nullptr));
        return h;
    }
};

using dkt::random_vec;

// |got - want| <= atol + rtol * |want| (+ scale[i] * rtol when a per-element magnitude is given,
// for sums whose terms cancel). Reports the count and the first mismatches; NaN never matches.
inline bool close(const std::vector<float> &got, const std::vector<double> &want, double atol, double rtol,
                  const std::string &what, const std::vector<double> *scale = nullptr) {
    if (!CHECK_MSG(got.size() == want.size(), what + ": size")) return false;
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double mag = scale ? (*scale)[i] : std::fabs(want[i]);
        const double tol = atol + rtol * mag;
        const double err = std::fabs(double(got[i]) - want[i]);
        if (!(err <= tol)) {
            if (bad < 5)
                std::fprintf(stderr, "  %s[%zu]: got %.9g, want %.9g (tolerance %.3g)\n", what.c_str(), i, got[i],
                             want[i], tol);
            ++bad;
        }
        if (err > worst || std::isnan(err)) worst = err;
    }
    return CHECK_MSG(bad == 0, what + ": " + std::to_string(bad) + " of " + std::to_string(got.size()) +
                                   " elements off, worst error " + std::to_string(worst));
}

// The call fails with `status` and a message that contains `needle`.
inline void expect_error(int got, int status, const char *needle, const std::string &what) {
    const std::string msg = dkc_last_error();
    CHECK_MSG(got == status, what + ": status " + std::to_string(got) + ", message: " + msg);
    CHECK_MSG(msg.find(needle) != std::string::npos, what + ": message '" + msg + "' should name " + needle);
}

// The CUDA kernel tests run on main.cpp: without a CUDA driver or GPU (the real library only; the
// emulator always has its one device) it prints why and exits 77, which ctest reports as skipped.
inline std::string no_device_reason() {
    char msg[256] = {0};
    int count = 0;
    if (dkc_device_count(&count, msg, sizeof msg) != DK_OK) return std::string("the CUDA tests need a GPU: ") + msg;
    return "";
}
inline const bool skip_without_device = [] {
    dkt::Registry::get().skip_reason = no_device_reason;
    return true;
}();

} // namespace dkct
