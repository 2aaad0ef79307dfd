// FMA-bound loops: 24 independent vector accumulators (more than latency x ports), no memory
// traffic. One file per ISA, each compiled with its own flags; dk_fma_peak_gflops dispatches.
#pragma once

#include <cstdint>

namespace dk {

// Each returns a value that depends on every accumulator, so nothing is optimized away.
// Floating-point operations performed: iterations * 24 * lanes * 2.
float fma_loop_avx512(int64_t iterations); // 16 lanes
float fma_loop_avx2(int64_t iterations);   // 8 lanes
float fma_loop_generic(int64_t iterations); // 4 lanes (SSE2 multiply + add count as one FMA)

} // namespace dk
