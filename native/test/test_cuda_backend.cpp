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

namespace {

// A device copy of a host vector through the C ABI, freed at scope exit.
struct Device {
    float *p = nullptr;
    size_t n;
    explicit Device(const std::vector<float> &h) : n(h.size()) {
        CHECK_MSG(dk_cuda_malloc(reinterpret_cast<void **>(&p), int64_t(n * 4)) == DK_OK, dk_last_error());
        CHECK(dk_cuda_memcpy(p, h.data(), int64_t(n * 4), DK_COPY_HOST_TO_DEVICE) == DK_OK);
    }
    ~Device() { dk_cuda_free(p); }
    std::vector<float> host() const {
        std::vector<float> h(n);
        CHECK_MSG(dk_cuda_memcpy(h.data(), p, int64_t(n * 4), DK_COPY_DEVICE_TO_HOST) == DK_OK, dk_last_error());
        return h;
    }
};

void expect_close(const std::vector<float> &got, const std::vector<float> &want, float tol, const std::string &what) {
    int bad = 0;
    for (size_t i = 0; i < got.size(); ++i) bad += !(std::fabs(got[i] - want[i]) <= tol + tol * std::fabs(want[i]));
    CHECK_MSG(got.size() == want.size() && bad == 0, what + ": " + std::to_string(bad) + " elements differ");
}

} // namespace

// Attention and convolution through dk_attention_* / dk_conv2d_* on device pointers against the
// reference backend on the host; what the cuda kernels do not cover fails naming the feature; an
// out-of-range label in device memory is found before any kernel runs. (Every other op is compared
// with the native backend from Java: org.deepkern.backend.CudaParityTest.)
TEST(cuda_backend_ops_match_ref) {
    if (dk_backend_check(DK_BACKEND_CUDA) != DK_OK) {
        std::printf("skipped: the cuda backend is unavailable: %s\n", dk_last_error());
        CHECK(std::getenv("DK_EXPECT_CUDA") == nullptr);
        return;
    }
    std::mt19937 rng(31);
    for (int causal : {0, 1}) {
        // Grouped-query (4 q heads on 2 k/v heads), q_seq != kv_seq; the causal case with per-batch
        // key lengths (host memory) and deepkern.h's top-left aligned mask.
        dk_attention_desc d{2, 4, 2, 19, 23, 24, 0.2f, causal, 0.0f, 0};
        const int32_t lens[2] = {23, 5};
        const int32_t *key_lens = causal ? lens : nullptr;
        const int64_t nlens = causal ? 2 : 0;
        const size_t qn = 2 * 4 * 19 * 24, kn = 2 * 2 * 23 * 24, ln = 2 * 4 * 19;
        const auto q = dkt::random_vec(qn, rng), k = dkt::random_vec(kn, rng), v = dkt::random_vec(kn, rng),
                   dout = dkt::random_vec(qn, rng);
        std::vector<float> out(qn), lse(ln), dq(qn), dk(kn), dv(kn);
        CHECK(dk_attention_forward(DK_BACKEND_REF, &d, out.data(), qn, lse.data(), ln, q.data(), qn, k.data(), kn,
                                   v.data(), kn, key_lens, nlens) == DK_OK);
        CHECK(dk_attention_backward(DK_BACKEND_REF, &d, dq.data(), qn, dk.data(), kn, dv.data(), kn, dout.data(), qn,
                                    q.data(), qn, k.data(), kn, v.data(), kn, out.data(), qn, lse.data(), ln, key_lens,
                                    nlens) == DK_OK);
        Device gq(q), gk(k), gv(v), gdout(dout), gout(out), glse(lse), gdq(dq), gdk(dk), gdv(dv);
        CHECK_MSG(dk_attention_forward(DK_BACKEND_CUDA, &d, gout.p, qn, glse.p, ln, gq.p, qn, gk.p, kn, gv.p, kn,
                                       key_lens, nlens) == DK_OK,
                  dk_last_error());
        CHECK_MSG(dk_attention_backward(DK_BACKEND_CUDA, &d, gdq.p, qn, gdk.p, kn, gdv.p, kn, gdout.p, qn, gq.p, qn,
                                        gk.p, kn, gv.p, kn, gout.p, qn, glse.p, ln, key_lens, nlens) == DK_OK,
                  dk_last_error());
        const std::string what = causal ? "causal attention with key lengths" : "grouped-query attention";
        expect_close(gout.host(), out, 1e-5f, what + " out");
        expect_close(glse.host(), lse, 1e-5f, what + " lse");
        expect_close(gdq.host(), dq, 1e-4f, what + " dq");
        expect_close(gdk.host(), dk, 1e-4f, what + " dk");
        expect_close(gdv.host(), dv, 1e-4f, what + " dv");
        CHECK(std::string(dk_attention_impl_name(DK_BACKEND_CUDA, &d)) == "cuda");
        // Inference (no lse) too.
        CHECK_MSG(dk_attention_forward(DK_BACKEND_CUDA, &d, gout.p, qn, nullptr, 0, gq.p, qn, gk.p, kn, gv.p, kn,
                                       key_lens, nlens) == DK_OK,
                  dk_last_error());
        expect_close(gout.host(), out, 1e-5f, what + " out without lse");
    }
    { // what the kernels do not cover: named
        dk_attention_desc drop{1, 2, 2, 5, 5, 8, 0.3f, 0, 0.1f, 7};
        CHECK(dk_attention_impl_name(DK_BACKEND_CUDA, &drop) == nullptr && std::strstr(dk_last_error(), "dropout") &&
              std::strstr(dk_last_error(), "cuda"));
        dk_attention_desc wide{1, 2, 2, 5, 5, 160, 0.3f, 0, 0.0f, 0};
        CHECK(dk_attention_impl_name(DK_BACKEND_CUDA, &wide) == nullptr && std::strstr(dk_last_error(), "head_dim"));
    }
    { // conv2d forward, backward data, backward weights (with bias), stride 2, padding, ragged sizes
        dk_conv2d_desc d{};
        d.n = 2, d.c = 3, d.h = 11, d.w = 9, d.oc = 5, d.kernel_h = 3, d.kernel_w = 2, d.stride_h = 2, d.stride_w = 1,
        d.pad_h = 1, d.pad_w = 1, d.pad_h_end = 1, d.pad_w_end = 1, d.dilation_h = 1, d.dilation_w = 1, d.groups = 1;
        const int64_t oh = (11 + 2 - 3) / 2 + 1, ow = (9 + 2 - 2) / 1 + 1;
        const size_t xn = 2 * 3 * 11 * 9, wn = 5 * 3 * 3 * 2, yn = size_t(2 * 5 * oh * ow);
        const auto x = dkt::random_vec(xn, rng), w = dkt::random_vec(wn, rng), bias = dkt::random_vec(5, rng),
                   dy = dkt::random_vec(yn, rng);
        std::vector<float> y(yn), dx(xn), dw(wn), db(5);
        CHECK(dk_conv2d_forward(DK_BACKEND_REF, &d, y.data(), yn, x.data(), xn, w.data(), wn, bias.data(), 5) == DK_OK);
        CHECK(dk_conv2d_backward_data(DK_BACKEND_REF, &d, dx.data(), xn, dy.data(), yn, w.data(), wn) == DK_OK);
        CHECK(dk_conv2d_backward_weights(DK_BACKEND_REF, &d, dw.data(), wn, db.data(), 5, dy.data(), yn, x.data(), xn) ==
              DK_OK);
        Device gx(x), gw(w), gb(bias), gdy(dy), gy(y), gdx(dx), gdw(dw), gdb(db);
        CHECK_MSG(dk_conv2d_forward(DK_BACKEND_CUDA, &d, gy.p, yn, gx.p, xn, gw.p, wn, gb.p, 5) == DK_OK, dk_last_error());
        CHECK_MSG(dk_conv2d_backward_data(DK_BACKEND_CUDA, &d, gdx.p, xn, gdy.p, yn, gw.p, wn) == DK_OK, dk_last_error());
        CHECK_MSG(dk_conv2d_backward_weights(DK_BACKEND_CUDA, &d, gdw.p, wn, gdb.p, 5, gdy.p, yn, gx.p, xn) == DK_OK,
                  dk_last_error());
        expect_close(gy.host(), y, 1e-5f, "conv2d forward");
        expect_close(gdx.host(), dx, 1e-5f, "conv2d backward data");
        expect_close(gdw.host(), dw, 1e-4f, "conv2d backward weights");
        expect_close(gdb.host(), db, 1e-4f, "conv2d backward bias");
    }
    { // a label out of range, in device memory: named before anything runs
        dk_xent_desc d{3, 4, 0.0f};
        Device logits(dkt::random_vec(12, rng)), labels(std::vector<float>{0, 4, 1}), probs(std::vector<float>(12)),
            loss(std::vector<float>(1));
        CHECK(dk_softmax_xent_forward(DK_BACKEND_CUDA, &d, loss.p, 1, probs.p, 12, logits.p, 12, labels.p, 3) ==
                  DK_INVALID_ARGUMENT &&
              std::strstr(dk_last_error(), "labels[1]"));
    }
}
