// Activations (forward, backward), the fused AdamW and SGD steps, against double references.
#include "cuda_test.h"

namespace {
using dkct::Dev;

// alpha: LEAKY_RELU's slope, RSQRT's epsilon.
double act(int a, double x, double alpha) {
    switch (a) {
    case DKC_ACT_RELU: return x > 0 ? x : 0;
    case DKC_ACT_GELU: return 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    case DKC_ACT_SIGMOID: return 1 / (1 + std::exp(-x));
    case DKC_ACT_TANH: return std::tanh(x);
    case DKC_ACT_LEAKY_RELU: return x > 0 ? x : alpha * x;
    case DKC_ACT_GELU_ERF: return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case DKC_ACT_SOFTPLUS: return std::log1p(std::exp(x));
    case DKC_ACT_RSQRT: return 1 / std::sqrt(x + alpha);
    default: return x;
    }
}
// Central differences of act in double: an independent check of the analytic derivatives.
double act_grad(int a, double x, double alpha) {
    if (a == DKC_ACT_RELU) return x > 0 ? 1 : 0;
    if (a == DKC_ACT_LEAKY_RELU) return x > 0 ? 1 : alpha;
    const double h = 1e-6;
    return (act(a, x + h, alpha) - act(a, x - h, alpha)) / (2 * h);
}
} // namespace

TEST(cuda_activations) {
    std::mt19937 rng(1);
    for (int a = DKC_ACT_NONE; a <= DKC_ACT_RSQRT; ++a)
        for (int64_t n : {int64_t(1), int64_t(33), int64_t(1000), int64_t(4099)}) {
            const float alpha = a == DKC_ACT_RSQRT ? 0.5f : 0.1f;
            // RSQRT on [0, 6] (x + alpha > 0); softplus also far out, where it must not overflow.
            const float lo = a == DKC_ACT_RSQRT ? 0.0f : a == DKC_ACT_SOFTPLUS ? -60.0f : -6.0f;
            const float hi = a == DKC_ACT_SOFTPLUS ? 60.0f : 6.0f;
            const auto x = dkct::random_vec(n, rng, lo, hi), dy = dkct::random_vec(n, rng);
            Dev<float> dx(x), ddy(dy), y(n), dxo(n);
            if (!DKC_OK(dkc_activation_forward(a, alpha, y.p, dx.p, n, nullptr))) return;
            if (!DKC_OK(dkc_activation_backward(a, alpha, dxo.p, ddy.p, dx.p, n, nullptr))) return;
            std::vector<double> wy(n), wdx(n);
            for (int64_t i = 0; i < n; ++i) wy[i] = act(a, x[i], alpha), wdx[i] = dy[i] * act_grad(a, x[i], alpha);
            const std::string what = "act " + std::to_string(a) + " n=" + std::to_string(n);
            dkct::close(y.get(), wy, 1e-6, 1e-5, what + " forward");
            dkct::close(dxo.get(), wdx, 1e-5, 1e-4, what + " backward");
        }
    float *p = reinterpret_cast<float *>(16);
    dkct::expect_error(dkc_activation_forward(9, 0.0f, p, p, 4, nullptr), DK_INVALID_ARGUMENT, "act",
                       "act = 9");
    dkct::expect_error(dkc_activation_backward(DKC_ACT_RELU, 0.0f, p, p, nullptr, 4, nullptr), DK_NULL_POINTER, "x",
                       "x = NULL");
}

TEST(cuda_adamw_and_sgd) {
    std::mt19937 rng(2);
    for (int64_t n : {int64_t(1), int64_t(1000), int64_t(3001)}) {
        auto p = dkct::random_vec(n, rng);
        std::vector<float> m(n, 0.0f), v(n, 0.0f);
        Dev<float> dp(p), dm(m), dv(v), dg(n);
        std::vector<double> rp(p.begin(), p.end()), rm(n, 0), rv(n, 0);
        const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.01f;
        for (int step = 1; step <= 3; ++step) {
            const auto g = dkct::random_vec(n, rng);
            dg.put(g);
            if (!DKC_OK(dkc_adamw_step(dp.p, dm.p, dv.p, dg.p, n, lr, b1, b2, eps, wd, step, nullptr))) return;
            for (int64_t i = 0; i < n; ++i) {
                rm[i] = b1 * rm[i] + (1 - b1) * g[i];
                rv[i] = b2 * rv[i] + (1 - b2) * double(g[i]) * g[i];
                const double mh = rm[i] / (1 - std::pow(double(b1), step)), vh = rv[i] / (1 - std::pow(double(b2), step));
                rp[i] -= lr * (mh / (std::sqrt(vh) + eps) + wd * rp[i]);
            }
        }
        dkct::close(dp.get(), rp, 1e-5, 1e-4, "adamw param n=" + std::to_string(n));
        dkct::close(dm.get(), rm, 1e-6, 1e-4, "adamw m n=" + std::to_string(n));
        dkct::close(dv.get(), rv, 1e-7, 1e-3, "adamw v n=" + std::to_string(n));

        for (float momentum : {0.0f, 0.9f}) {
            auto q = dkct::random_vec(n, rng);
            std::vector<float> buf(n, 0.0f);
            Dev<float> dq(q), dbuf(buf);
            std::vector<double> rq(q.begin(), q.end()), rb(n, 0);
            for (int step = 0; step < 3; ++step) {
                const auto g = dkct::random_vec(n, rng);
                dg.put(g);
                if (!DKC_OK(dkc_sgd_step(dq.p, momentum == 0.0f ? nullptr : dbuf.p, dg.p, n, 0.1f, momentum, 1e-3f,
                                         nullptr)))
                    return;
                for (int64_t i = 0; i < n; ++i) {
                    double gg = g[i] + 1e-3 * rq[i];
                    if (momentum != 0.0f) gg = rb[i] = momentum * rb[i] + gg;
                    rq[i] -= 0.1 * gg;
                }
            }
            dkct::close(dq.get(), rq, 1e-6, 1e-5, "sgd momentum=" + std::to_string(momentum));
        }
    }
    float *p = reinterpret_cast<float *>(16);
    dkct::expect_error(dkc_adamw_step(p, p, p, p, 4, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.0f, 0, nullptr), DK_INVALID_ARGUMENT,
                       "step", "step = 0");
    dkct::expect_error(dkc_adamw_step(p, p, p, p, 4, 1e-3f, 1.0f, 0.999f, 1e-8f, 0.0f, 1, nullptr), DK_INVALID_ARGUMENT,
                       "beta1", "beta1 = 1");
    dkct::expect_error(dkc_sgd_step(p, nullptr, p, 4, 0.1f, 0.9f, 0.0f, nullptr), DK_INVALID_ARGUMENT, "momentum_buf",
                       "momentum without a buffer");
}

TEST(cuda_memory) {
    int64_t in_use0 = 0, cached0 = 0, in_use = 0, cached = 0;
    DKC_OK(dkc_memory_stats(&in_use0, &cached0));
    void *a = nullptr;
    DKC_OK(dkc_malloc(&a, 1000));
    CHECK(a != nullptr);
    DKC_OK(dkc_memory_stats(&in_use, &cached));
    CHECK(in_use >= in_use0 + 1000);
    std::vector<float> h(250, 1.5f), back(250, 0.0f);
    DKC_OK(dkc_memcpy(a, h.data(), 1000, DKC_HOST_TO_DEVICE, nullptr));
    void *b = nullptr;
    DKC_OK(dkc_malloc(&b, 1000));
    DKC_OK(dkc_memcpy(b, a, 1000, DKC_DEVICE_TO_DEVICE, nullptr));
    DKC_OK(dkc_memcpy(back.data(), b, 1000, DKC_DEVICE_TO_HOST, nullptr));
    CHECK(back == h);
    dkc_stream s = nullptr;
    DKC_OK(dkc_stream_create(&s));
    DKC_OK(dkc_memcpy(b, h.data(), 1000, DKC_HOST_TO_DEVICE, s));
    DKC_OK(dkc_stream_synchronize(s));
    DKC_OK(dkc_stream_destroy(s));
    DKC_OK(dkc_free(b));
    DKC_OK(dkc_free(a));
    DKC_OK(dkc_memory_stats(&in_use, &cached));
    CHECK(in_use == in_use0);
    dkct::expect_error(dkc_free(a), DK_INVALID_ARGUMENT, "already freed", "double free");
    dkct::expect_error(dkc_malloc(&a, -1), DK_INVALID_ARGUMENT, "bytes", "bytes < 0");
    dkct::expect_error(dkc_memcpy(back.data(), nullptr, 4, DKC_DEVICE_TO_HOST, nullptr), DK_NULL_POINTER, "src",
                       "src = NULL");
    dkct::expect_error(dkc_memcpy(back.data(), h.data(), 4, 0, nullptr),
                       DK_INVALID_ARGUMENT, "kind", "kind = 0");
    DKC_OK(dkc_empty_cache());
    DKC_OK(dkc_memory_stats(&in_use, &cached));
    CHECK(cached == 0);
}

// The cache hands a freed block of the same size class back (on a GPU always; in the emulator
// only with DK_EMU_CACHING_ALLOCATOR=1, which ctest sets for this test).
TEST(cuda_allocator_caches) {
    void *a = nullptr, *b = nullptr;
    DKC_OK(dkc_malloc(&a, 3000));
    DKC_OK(dkc_free(a));
    int64_t in_use = 0, cached = 0;
    DKC_OK(dkc_memory_stats(&in_use, &cached));
    CHECK_MSG(cached >= 3000, "a freed block stays in the cache");
    DKC_OK(dkc_malloc(&b, 2500)); // the same 4 KiB class
    CHECK_MSG(a == b, "the cached block is reused");
    DKC_OK(dkc_free(b));
    DKC_OK(dkc_empty_cache());
    DKC_OK(dkc_memory_stats(&in_use, &cached));
    CHECK(cached == 0);
}
