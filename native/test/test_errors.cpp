// Bad input: every entry point returns a status and a message naming the argument, touches no
// memory, and the library keeps working afterwards.
#include "check.h"
#include "deepkern.h"

#include <cstring>
#include <string>
#include <vector>

namespace {

dk_matmul_desc good() { return dk_matmul_desc{2, 3, 4, 0, 0, 4, 3, 3, 1.0f, 0.0f}; }

struct Buffers {
    std::vector<float> a = std::vector<float>(8, 1.0f), b = std::vector<float>(12, 1.0f), c = std::vector<float>(6, 0.0f);
};

dk_status run(dk_backend be, const dk_matmul_desc &d, Buffers &x) {
    return dk_matmul(be, &d, x.c.data(), x.c.size(), x.a.data(), x.a.size(), x.b.data(), x.b.size());
}

bool mentions(const char *word) { return std::strstr(dk_last_error(), word) != nullptr; }

void still_works(dk_backend be) {
    Buffers x;
    dk_matmul_desc d = good();
    CHECK_MSG(run(be, d, x) == DK_OK, dk_last_error());
    CHECK(x.c[0] == 4.0f && x.c[5] == 4.0f);
    CHECK(std::string(dk_last_error()).empty());
}

void expect(dk_backend be, dk_matmul_desc d, dk_status want, const char *word) {
    Buffers x;
    const std::vector<float> c0 = x.c;
    const dk_status st = run(be, d, x);
    CHECK_MSG(st == want, std::string("status ") + std::to_string(st) + ": " + dk_last_error());
    CHECK_MSG(mentions(word), std::string("message '") + dk_last_error() + "' should name " + word);
    CHECK(x.c == c0);
    still_works(be);
}

} // namespace

TEST(matmul_bad_input) {
    for (dk_backend be : {DK_BACKEND_NATIVE, DK_BACKEND_ONEDNN, DK_BACKEND_REF}) {
        if (dk_backend_check(be) != DK_OK) continue;
        dk_matmul_desc d = good();
        d.m = -1;
        expect(be, d, DK_INVALID_ARGUMENT, "m must be >= 0");
        d = good(), d.k = -5;
        expect(be, d, DK_INVALID_ARGUMENT, "k must be >= 0");
        d = good(), d.m = d.n = d.ldb = d.ldc = int64_t(1) << 40; // (m - 1) * ldc overflows
        expect(be, d, DK_INVALID_ARGUMENT, "overflow");
        d = good(), d.lda = 3;
        expect(be, d, DK_INVALID_ARGUMENT, "lda");
        d = good(), d.ldc = 2;
        expect(be, d, DK_INVALID_ARGUMENT, "ldc");
        d = good(), d.trans_a = 2;
        expect(be, d, DK_INVALID_ARGUMENT, "trans_a");
        d = good(), d.k = 5, d.lda = 5; // A needs 10 floats, the buffer has 8
        expect(be, d, DK_INVALID_ARGUMENT, "a needs 10 floats");

        Buffers x;
        d = good();
        CHECK(dk_matmul(be, &d, x.c.data(), 6, nullptr, 0, x.b.data(), 12) == DK_NULL_POINTER && mentions("a must not be null"));
        CHECK(dk_matmul(be, nullptr, x.c.data(), 6, x.a.data(), 8, x.b.data(), 12) == DK_NULL_POINTER && mentions("desc"));
        CHECK(dk_matmul(be, &d, x.c.data(), -1, x.a.data(), 8, x.b.data(), 12) == DK_INVALID_ARGUMENT && mentions("c_len"));
        std::vector<float> shared(20, 1.0f); // C overlapping A
        CHECK(dk_matmul(be, &d, shared.data() + 4, 6, shared.data(), 8, x.b.data(), 12) == DK_INVALID_ARGUMENT &&
              mentions("overlap"));
        still_works(be);
    }
    Buffers x;
    CHECK(run(static_cast<dk_backend>(42), good(), x) == DK_INVALID_ARGUMENT && mentions("backend"));
}

TEST(alloc_and_threads_bad_input) {
    void *p = reinterpret_cast<void *>(1);
    CHECK(dk_alloc(&p, -1) == DK_INVALID_ARGUMENT && p == nullptr && mentions("bytes"));
    CHECK(dk_alloc(&p, INT64_MAX) != DK_OK && p == nullptr);
    CHECK(dk_alloc(nullptr, 8) == DK_NULL_POINTER);
    CHECK(dk_alloc(&p, 100) == DK_OK && p && reinterpret_cast<uintptr_t>(p) % 64 == 0);
    dk_free(p);
    const int before = dk_get_num_threads();
    CHECK(dk_set_num_threads(0) == DK_INVALID_ARGUMENT && mentions("threads"));
    CHECK(dk_get_num_threads() == before);
    double g = 0;
    CHECK(dk_fma_peak_gflops(0, &g) == DK_INVALID_ARGUMENT && mentions("iterations"));
    CHECK(dk_fma_peak_gflops(10, nullptr) == DK_NULL_POINTER);
}

TEST(cuda_backend_reports_why) {
    const dk_status st = dk_backend_check(DK_BACKEND_CUDA);
    if (st == DK_OK) {
        std::printf("a CUDA device is present\n");
        return;
    }
    CHECK(st == DK_UNAVAILABLE);
    CHECK_MSG(std::strlen(dk_last_error()) > 10, dk_last_error());
    std::printf("cuda: %s\n", dk_last_error());
    Buffers x;
    CHECK(run(DK_BACKEND_CUDA, good(), x) == DK_UNAVAILABLE);
}
