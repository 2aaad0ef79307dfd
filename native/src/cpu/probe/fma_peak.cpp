#include "fma_peak.h"

#include "core/cpu_features.h"
#include "core/error.h"
#include "deepkern.h"

#include <chrono>

namespace dk {

float fma_loop_generic(int64_t iterations) {
    float acc[24][4];
    for (int i = 0; i < 24; ++i)
        for (int l = 0; l < 4; ++l) acc[i][l] = 0.001f * i;
    volatile float xv = 0.9999999f, yv = 1e-7f;
    const float x = xv, y = yv;
    for (int64_t it = 0; it < iterations; ++it)
        for (int i = 0; i < 24; ++i)
            for (int l = 0; l < 4; ++l) acc[i][l] = acc[i][l] * x + y;
    float total = 0;
    for (int i = 0; i < 24; ++i)
        for (int l = 0; l < 4; ++l) total += acc[i][l];
    return total;
}

} // namespace dk

extern "C" dk_status dk_fma_peak_gflops(int64_t iterations, double *gflops) {
    return dk::guarded([&] {
        if (!gflops) dk::fail(DK_NULL_POINTER, "gflops must not be null");
        if (iterations < 1)
            dk::fail(DK_INVALID_ARGUMENT, dk::format("iterations must be >= 1, got %lld", (long long)iterations));
        int lanes = 4;
        float (*loop)(int64_t) = dk::fma_loop_generic;
        switch (dk::cpu_isa()) {
        case dk::Isa::avx512: loop = dk::fma_loop_avx512, lanes = 16; break;
        case dk::Isa::avx2: loop = dk::fma_loop_avx2, lanes = 8; break;
        default: break;
        }
        loop(iterations / 16 + 1); // warm up: raises the clock and the AVX-512 license
        const auto t0 = std::chrono::steady_clock::now();
        volatile float sink = loop(iterations);
        (void)sink;
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        *gflops = static_cast<double>(iterations) * 24.0 * lanes * 2.0 / seconds / 1e9;
    });
}
