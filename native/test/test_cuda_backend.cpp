// The cuda backend through libdeepkern's C ABI (dk_cuda_* memory, dk_matmul on device pointers).
// Without a GPU the backend must be unavailable with a reason and every call must say so; with
// DK_CUDA_LIBRARY pointing at the emulator build of the kernels (ctest's cuda_backend_abi.emu,
// DK_EXPECT_CUDA=1) or on a GPU, the calls must work and match the reference backend.
#include "check.h"
#include "deepkern.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

TEST(cuda_backend_abi) {
    // Bad arguments fail the same way with or without a GPU.
    CHECK(dk_cuda_malloc(nullptr, 4) == DK_NULL_POINTER && std::strstr(dk_last_error(), "out"));
    void *p = nullptr;
    CHECK(dk_cuda_malloc(&p, -1) == DK_INVALID_ARGUMENT && std::strstr(dk_last_error(), "bytes"));
    CHECK(dk_cuda_memcpy(&p, &p, 4, 9) == DK_INVALID_ARGUMENT &&
          std::strstr(dk_last_error(), "kind"));
    CHECK(dk_cuda_memcpy(nullptr, &p, 4, DK_COPY_HOST_TO_DEVICE) == DK_NULL_POINTER &&
          std::strstr(dk_last_error(), "dst"));

    const bool expect = std::getenv("DK_EXPECT_CUDA") != nullptr;
    if (dk_backend_check(DK_BACKEND_CUDA) != DK_OK) {
        const std::string why = dk_last_error();
        std::printf("cuda backend unavailable: %s\n", why.c_str());
        CHECK_MSG(!expect, "DK_EXPECT_CUDA is set but the cuda backend is unavailable: " + why);
        CHECK(!why.empty());
        CHECK(dk_cuda_malloc(&p, 16) == DK_UNAVAILABLE && dk_last_error() == why);
        CHECK(dk_cuda_synchronize() == DK_UNAVAILABLE);
        return;
    }

    // C = A B on the device against the reference on the host; ragged sizes.
    const int64_t m = 37, n = 29, k = 45;
    std::mt19937 rng(29);
    std::uniform_real_distribution<float> dist(-1, 1);
    std::vector<float> a(m * k), b(k * n), c(m * n), want(m * n);
    for (float &x : a) x = dist(rng);
    for (float &x : b) x = dist(rng);
    float *da = nullptr, *db = nullptr, *dc = nullptr;
    CHECK_MSG(dk_cuda_malloc(reinterpret_cast<void **>(&da), a.size() * 4) == DK_OK, dk_last_error());
    CHECK_MSG(dk_cuda_malloc(reinterpret_cast<void **>(&db), b.size() * 4) == DK_OK, dk_last_error());
    CHECK_MSG(dk_cuda_malloc(reinterpret_cast<void **>(&dc), c.size() * 4) == DK_OK, dk_last_error());
    CHECK(dk_cuda_memcpy(da, a.data(), a.size() * 4, DK_COPY_HOST_TO_DEVICE) == DK_OK);
    CHECK(dk_cuda_memcpy(db, b.data(), b.size() * 4, DK_COPY_HOST_TO_DEVICE) == DK_OK);
    dk_matmul_desc d{m, n, k, 0, 0, k, n, n, 1.0f, 0.0f};
    CHECK_MSG(dk_matmul(DK_BACKEND_CUDA, &d, dc, c.size(), da, a.size(), db, b.size()) == DK_OK, dk_last_error());
    CHECK(dk_cuda_memcpy(c.data(), dc, c.size() * 4, DK_COPY_DEVICE_TO_HOST) == DK_OK);
    CHECK(dk_matmul(DK_BACKEND_REF, &d, want.data(), want.size(), a.data(), a.size(), b.data(), b.size()) == DK_OK);
    int bad = 0;
    for (size_t i = 0; i < c.size(); ++i) bad += !(std::fabs(c[i] - want[i]) <= 1e-5f + 1e-5f * std::fabs(want[i]));
    CHECK_MSG(bad == 0, std::to_string(bad) + " elements of the device product differ from the reference");
    // k = 0 with beta: C = beta * C on the device.
    dk_matmul_desc z{m, n, 0, 0, 0, 1, n, n, 1.0f, 2.0f};
    CHECK_MSG(dk_matmul(DK_BACKEND_CUDA, &z, dc, c.size(), da, a.size(), db, b.size()) == DK_OK, dk_last_error());
    std::vector<float> c2(c.size());
    CHECK(dk_cuda_memcpy(c2.data(), dc, c.size() * 4, DK_COPY_DEVICE_TO_HOST) == DK_OK);
    CHECK(c2[5] == 2.0f * c[5] && c2[m * n - 1] == 2.0f * c[m * n - 1]);

    int64_t in_use = 0, cached = 0;
    CHECK(dk_cuda_memory_stats(&in_use, &cached) == DK_OK && in_use >= int64_t(c.size() * 4));
    CHECK(dk_cuda_free(da) == DK_OK && dk_cuda_free(db) == DK_OK && dk_cuda_free(dc) == DK_OK);
    CHECK(dk_cuda_free(dc) == DK_INVALID_ARGUMENT && std::strstr(dk_last_error(), "already freed"));
    CHECK(dk_cuda_synchronize() == DK_OK && dk_cuda_empty_cache() == DK_OK);
}
