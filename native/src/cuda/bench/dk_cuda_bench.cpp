// GPU throughput of the CUDA kernels that have performance targets (issue 7): GEMM at 4096^3 in
// FP32, TF32 and BF16, and flash attention forward on 8 x 16 x 4096 x 128. Prints one line per
// case with the time and TFLOP/s; compare with the cuBLAS baseline of the JMH benchmarks
// (CublasMatmulBench, built with -Pcuda-baselines) run on the same GPU.
// Without a GPU it prints "skipped: ..." with the reason and exits 0. Run by ci/test-gpu.sh.
#include "dk_cuda.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

namespace {

bool ok(int status, const char *what) {
    if (status == DK_OK) return true;
    std::fprintf(stderr, "%s failed: %s\n", what, dkc_last_error());
    return false;
}

// Warm up, then the mean of `iters` back-to-back launches on the default stream.
double seconds_per_call(const std::function<int()> &call, int iters) {
    for (int i = 0; i < 3; ++i)
        if (!ok(call(), "warm-up")) std::exit(1);
    ok(dkc_stream_synchronize(nullptr), "synchronize");
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i)
        if (!ok(call(), "launch")) std::exit(1);
    if (!ok(dkc_stream_synchronize(nullptr), "synchronize")) std::exit(1);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
}

// n floats of device memory holding small values (fresh device memory is uninitialized and may
// hold NaN or denormals, which would distort the timing).
float *device_floats(int64_t n) {
    void *p = nullptr;
    if (!ok(dkc_malloc(&p, n * 4), "dkc_malloc")) std::exit(1);
    std::vector<float> h(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) h[i] = static_cast<float>((i * 7919) % 13) / 13.0f - 0.5f;
    if (!ok(dkc_memcpy(p, h.data(), n * 4, DKC_HOST_TO_DEVICE, nullptr), "dkc_memcpy")) std::exit(1);
    return static_cast<float *>(p);
}

} // namespace

int main() {
    char msg[256] = {0};
    int count = 0;
    if (dkc_device_count(&count, msg, sizeof msg) != DK_OK) {
        std::printf("skipped: the CUDA benchmarks need a GPU: %s\n", msg);
        return 0;
    }
    const int64_t n = 4096;
    float *a = device_floats(n * n), *b = device_floats(n * n), *c = device_floats(n * n);
    std::printf("%-40s %12s %10s\n", "case", "ms", "TFLOP/s");
    const char *names[] = {"gemm fp32 4096^3 (SIMT)", "gemm tf32 4096^3 (mma)", "gemm bf16 4096^3 (mma)"};
    for (int math = DKC_MATH_FP32; math <= DKC_MATH_BF16; ++math) {
        const dk_matmul_desc d{n, n, n, 0, 0, n, n, n, 1.0f, 0.0f};
        const double s = seconds_per_call(
            [&] { return dkc_gemm(&d, static_cast<dkc_math>(math), DKC_ACT_NONE, c, a, b, nullptr, nullptr); }, 10);
        std::printf("%-40s %12.3f %10.2f\n", names[math], s * 1e3, 2.0 * n * n * n / s / 1e12);
    }
    dkc_free(a), dkc_free(b), dkc_free(c);

    const dkc_attention_desc ad{8, 16, 4096, 4096, 128, 0, 0.08838834764f, 0, 0, nullptr};
    const int64_t elems = ad.batch * ad.heads * ad.seq_q * ad.head_dim;
    float *q = device_floats(elems), *k = device_floats(elems), *v = device_floats(elems), *o = device_floats(elems);
    float *lse = device_floats(ad.batch * ad.heads * ad.seq_q);
    for (int causal = 0; causal <= 1; ++causal) {
        dkc_attention_desc d = ad;
        d.causal = causal;
        const double s = seconds_per_call([&] { return dkc_attention_forward(&d, o, lse, q, k, v, nullptr); }, 3);
        // Q K^T and P V: 4 B H S^2 D flops (half with the causal mask).
        const double flops = 4.0 * d.batch * d.heads * d.seq_q * d.seq_k * d.head_dim / (causal ? 2 : 1);
        std::printf("%-40s %12.3f %10.2f\n", causal ? "attention fwd 8x16x4096x128 causal" : "attention fwd 8x16x4096x128",
                    s * 1e3, flops / s / 1e12);
    }
    dkc_free(q), dkc_free(k), dkc_free(v), dkc_free(o), dkc_free(lse);
    return 0;
}
