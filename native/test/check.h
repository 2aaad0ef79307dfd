// A minimal test harness: TEST(name) registers a case; CHECK records a failure and goes on.
// `dk_tests NAME` runs one case (ctest registers each one), `dk_tests` runs all. main.cpp is the
// main of every test executable (dk_tests and the CUDA kernel tests).
#pragma once

#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace dkt {

struct Registry {
    std::map<std::string, std::function<void()>> cases;
    int failures = 0;
    // Why this executable's cases cannot run here (main prints it and exits 77, which ctest
    // reports as skipped), or "" when they can. The CUDA tests set it (no GPU); null: always run.
    std::function<std::string()> skip_reason;
    static Registry &get() {
        static Registry r;
        return r;
    }
};

struct Register {
    Register(const char *name, std::function<void()> fn) { Registry::get().cases[name] = std::move(fn); }
};

inline bool check(bool ok, const char *file, int line, const std::string &what) {
    if (!ok) {
        ++Registry::get().failures;
        if (Registry::get().failures <= 50) std::fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, what.c_str());
    }
    return ok;
}

// n floats drawn uniformly from [lo, hi).
inline std::vector<float> random_vec(size_t n, std::mt19937 &rng, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float &x : v) x = d(rng);
    return v;
}

} // namespace dkt

#define TEST(name)                                                                                          \
    static void test_##name();                                                                             \
    static dkt::Register register_##name(#name, test_##name);                                              \
    static void test_##name()

#define CHECK(cond) dkt::check((cond), __FILE__, __LINE__, #cond)
#define CHECK_MSG(cond, msg) dkt::check((cond), __FILE__, __LINE__, std::string(#cond) + " -- " + (msg))
