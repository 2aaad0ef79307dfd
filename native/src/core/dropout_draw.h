// The dropout draw: splitmix64 of (seed, i) mapped to [0, 1), shared by every implementation
// (the reference, the CUDA kernel in native/src/cuda/dropout.cu) and by the java backend
// (org.deepkern.ops.DropoutSpec). Plain C++: nvcc compiles it for the device too.
#pragma once

#include <stdint.h>

#ifdef __CUDACC__
#define DK_HOST_DEVICE __host__ __device__
#else
#define DK_HOST_DEVICE
#endif

namespace dk {

inline DK_HOST_DEVICE float dropout_uniform(uint64_t seed, uint64_t i) {
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

} // namespace dk
