// A C cross-check of AttentionBench without the JVM: times dk_attention_forward / _backward of
// the native and onednn backends over the C ABI, back to back, and prints the median wall time of
// single calls and the median process CPU time per call (which a loaded machine inflates less).
//
//   dk_attention_bench B H S D causal(0|1) fwd|bwd threads reps [native|onednn]
//
// Inputs are uniform in [-1, 1), scale 1 / sqrt(D), no dropout, self-attention (q_seq = kv_seq);
// the backward gets the forward's out and lse. Run it under flock /tmp/dk-bench.lock.
#include "deepkern.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <vector>

namespace {

double cpu_us() {
    timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
    if (argc < 9) {
        std::fprintf(stderr, "usage: %s B H S D causal(0|1) fwd|bwd threads reps [native|onednn]\n", argv[0]);
        return 2;
    }
    const int64_t B = atoll(argv[1]), H = atoll(argv[2]), S = atoll(argv[3]), D = atoll(argv[4]);
    const int causal = atoi(argv[5]), threads = atoi(argv[7]), reps = atoi(argv[8]);
    const bool fwd = !std::strcmp(argv[6], "fwd");
    const char *only = argc > 9 ? argv[9] : nullptr;
    if (dk_set_num_threads(threads) != DK_OK || reps < 1) {
        std::fprintf(stderr, "bad threads or reps: %s\n", dk_last_error());
        return 2;
    }
    const int64_t n = B * H * S * D, nl = B * H * S;
    std::vector<float> q(n), k(n), v(n), out(n), dout(n), dq(n), dk(n), dv(n), lse(nl);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    for (auto *x : {&q, &k, &v, &dout})
        for (float &e : *x) e = u(rng);
    const dk_attention_desc d{B, H, H, S, S, D, 1.0f / std::sqrt(static_cast<float>(D)), causal, 0.0f, 0};
    const struct {
        dk_backend be;
        const char *name;
    } backends[] = {{DK_BACKEND_NATIVE, "native"}, {DK_BACKEND_ONEDNN, "onednn"}};
    for (const auto &b : backends) {
        if (only && std::strcmp(only, b.name)) continue;
        if (dk_backend_check(b.be) != DK_OK) {
            std::printf("%s: %s\n", b.name, dk_last_error());
            continue;
        }
        auto call = [&](bool forward) {
            return forward ? dk_attention_forward(b.be, &d, out.data(), n, fwd ? nullptr : lse.data(), fwd ? 0 : nl,
                                                  q.data(), n, k.data(), n, v.data(), n, nullptr, 0)
                           : dk_attention_backward(b.be, &d, dq.data(), n, dk.data(), n, dv.data(), n, dout.data(), n,
                                                   q.data(), n, k.data(), n, v.data(), n, out.data(), n, lse.data(),
                                                   nl, nullptr, 0);
        };
        if (dk_attention_forward(b.be, &d, out.data(), n, lse.data(), nl, q.data(), n, k.data(), n, v.data(), n,
                                 nullptr, 0) != DK_OK) {
            std::printf("%s: %s\n", b.name, dk_last_error());
            return 1;
        }
        std::vector<double> wall, cpu;
        for (int r = -2; r < reps; ++r) { // two warm-up calls
            const auto t0 = std::chrono::steady_clock::now();
            const double c0 = cpu_us();
            if (call(fwd) != DK_OK) {
                std::printf("%s: %s\n", b.name, dk_last_error());
                return 1;
            }
            const double c1 = cpu_us();
            const auto t1 = std::chrono::steady_clock::now();
            if (r >= 0) wall.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count()), cpu.push_back(c1 - c0);
        }
        const double flops = (fwd ? 4.0 : 8.0) * B * H * S * S * D, w = median(wall);
        std::printf("%-6s %lldx%lldx%lldx%lld causal=%d %s threads=%d: median %.1f us (%.1f effective GFLOP/s), "
                    "cpu %.1f us per call\n",
                    b.name, (long long)B, (long long)H, (long long)S, (long long)D, causal, fwd ? "fwd" : "bwd",
                    threads, w, flops / w / 1e3, median(cpu));
    }
    return 0;
}
