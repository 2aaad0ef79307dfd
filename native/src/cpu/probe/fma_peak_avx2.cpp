// Compiled with -mavx2 -mfma: included only in files of this ISA (see native/KERNELS.md).
#include "fma_peak.h"

#include <immintrin.h>

namespace dk {

float fma_loop_avx2(int64_t iterations) {
    __m256 acc[12]; // 16 ymm registers: 12 accumulators + the two constants
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(0.001f * i);
    const __m256 x = _mm256_set1_ps(0.9999999f), y = _mm256_set1_ps(1e-7f);
    for (int64_t it = 0; it < 2 * iterations; ++it) { // 2 x 12 = 24 FMAs per iteration
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
    }
    __m256 sum = acc[0];
    for (int i = 1; i < 12; ++i) sum = _mm256_add_ps(sum, acc[i]);
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, sum);
    float total = 0;
    for (float v : lanes) total += v;
    return total;
}

} // namespace dk
