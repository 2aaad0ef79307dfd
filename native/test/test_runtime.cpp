// CPU features, ISA dispatch, the FMA probe and the thread budget.
#include "check.h"
#include "deepkern.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

TEST(cpu_isa_matches_features) {
    const std::string isa = dk_cpu_isa(), features = dk_cpu_features();
    std::printf("isa %s, features: %s\n", isa.c_str(), features.c_str());
    CHECK(isa == "avx512" || isa == "avx2" || isa == "generic");
    if (isa == "avx512") CHECK(features.find("avx512f") != std::string::npos);
    if (isa == "avx2") CHECK(features.find("avx2") != std::string::npos && features.find("fma") != std::string::npos);
    if (const char *forced = std::getenv("DK_ISA")) {
        auto rank = [](const std::string &s) { return s == "avx512" ? 2 : s == "avx2" ? 1 : 0; };
        CHECK_MSG(rank(isa) <= rank(forced), "DK_ISA lowers the ISA, never raises it");
        CHECK_MSG(rank(isa) == rank(forced) || rank(isa) < rank(forced), isa);
    }
}

TEST(fma_probe) {
    double gflops = 0;
    CHECK_MSG(dk_fma_peak_gflops(2000000, &gflops) == DK_OK, dk_last_error());
    std::printf("isa %s: %.1f GFLOP/s on one thread\n", dk_cpu_isa(), gflops);
    CHECK(gflops > 0.5 && gflops < 1e5);
}

TEST(thread_budget_is_shared) {
    const int saved = dk_get_num_threads();
    CHECK(dk_set_num_threads(2) == DK_OK && dk_get_num_threads() == 2);
    dk_reset_peak_threads_in_use();
    const int64_t n = 96;
    std::atomic<int> failures{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 6; ++t)
        callers.emplace_back([&] {
            std::vector<float> a(n * n, 1.0f), b(n * n, 1.0f), c(n * n);
            dk_matmul_desc d{n, n, n, 0, 0, n, n, n, 1.0f, 0.0f};
            for (int r = 0; r < 20; ++r)
                for (dk_backend be : {DK_BACKEND_NATIVE, DK_BACKEND_ONEDNN}) {
                    if (dk_backend_check(be) != DK_OK) continue;
                    if (dk_matmul(be, &d, c.data(), c.size(), a.data(), a.size(), b.data(), b.size()) != DK_OK ||
                        c[n * n - 1] != static_cast<float>(n))
                        ++failures;
                }
        });
    for (auto &t : callers) t.join();
    CHECK(failures == 0);
    std::printf("peak threads in use: %d of 2\n", dk_peak_threads_in_use());
    CHECK(dk_peak_threads_in_use() >= 1 && dk_peak_threads_in_use() <= 2);
    dk_set_num_threads(saved);
}
