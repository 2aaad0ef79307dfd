// An in-process cross-check of MatmulBench for a shared machine: native and onednn (and, with
// PACKED=1, B packed once for each: dk_matmul_pack_b) alternate shape by shape, each timed by its
// median over a few repetitions, so that both see the same minutes of load. Not a JMH benchmark
// and not the figures of record (those come from ci/bench-matmul.sh); C row-major, beta = 0.
//   g++ -O2 -std=c++17 -Inative/include bench/native/gemm_compare.cpp -L<dir of libdeepkern.so>
//       -ldeepkern -Wl,-rpath,<that dir> -Wl,-rpath-link,<dir of libdnnl.so.3> -o gemm_compare   (one line)
//   LD_LIBRARY_PATH=<dir of libdnnl.so.3> OMP_WAIT_POLICY=passive ./gemm_compare 1 256x256x256 2048x2048x2048
#include "deepkern.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: gemm_compare THREADS MxNxK...\n");
        return 2;
    }
    const int threads = std::atoi(argv[1]);
    dk_set_num_threads(threads);
    double peak = 0;
    dk_fma_peak_gflops(20000000, &peak);
    std::printf("one core's FMA peak %.1f GFLOP/s\n", peak);
    for (int ai = 2; ai < argc; ++ai) {
        long m, n, k;
        if (std::sscanf(argv[ai], "%ldx%ldx%ld", &m, &n, &k) != 3) return 2;
        std::vector<float> a(m * k), b(k * n), c(m * n);
        for (float &x : a) x = std::rand() / (float)RAND_MAX - 0.5f;
        for (float &x : b) x = std::rand() / (float)RAND_MAX - 0.5f;
        dk_matmul_desc d{};
        d.m = m, d.n = n, d.k = k, d.lda = k, d.ldb = n, d.ldc = n, d.alpha = 1, d.beta = 0;
        dk_packed_matrix *packed[3] = {};
        if (std::getenv("PACKED"))
            for (int be : {1, 2})
                if (dk_matmul_pack_b((dk_backend)be, &packed[be], m, k, n, 0, b.data(), n, b.size()) != DK_OK) return 1;
        for (int be : {1, 2, 1, 2}) {
            const double flop = 2.0 * m * n * k;
            const int reps = std::max(5.0, 3e9 / flop);
            std::vector<double> t;
            for (int r = 0; r < reps + 2; ++r) {
                const auto t0 = std::chrono::steady_clock::now();
                const dk_status st = packed[be] ? dk_matmul_packed_b(&d, c.data(), c.size(), a.data(), a.size(), packed[be])
                                                : dk_matmul((dk_backend)be, &d, c.data(), c.size(), a.data(), a.size(),
                                                            b.data(), b.size());
                if (st != DK_OK) return 1;
                t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            }
            std::sort(t.begin(), t.end());
            const double s = t[t.size() / 2];
            std::printf("%-16s %-7s threads=%d %10.1f us %7.1f GFLOP/s %5.1f%% of peak  B read at %.1f GB/s\n", argv[ai],
                        be == 1 ? "native" : "onednn", threads, s * 1e6, flop / s * 1e-9,
                        100 * flop / s * 1e-9 / (peak * threads), 4.0 * k * n / s * 1e-9);
        }
        for (dk_packed_matrix *p : packed) dk_packed_matrix_free(p);
    }
}
