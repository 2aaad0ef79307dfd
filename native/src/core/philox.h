// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator, so a random number is a pure function of (key, counter) and dropout
// masks do not depend on threading or tiling. Plain C with internal linkage: safe to include from
// ISA-specific files (see native/KERNELS.md). Java's copy is org.deepkern.ops.Philox.
#pragma once

#include <stdint.h>

static inline uint32_t dk_philox4x32_10_first(uint64_t counter, uint64_t key) {
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int round = 0; round < 10; ++round) {
        const uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1, c3 = (uint32_t)p0, c0 = n0, c2 = n2;
        k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
    }
    return c0;
}

// The dropout threshold for probability p in [0, 1): an element is kept iff its random number is
// >= the threshold.
static inline uint32_t dk_dropout_threshold(float p) { return (uint32_t)((double)p * 4294967296.0); }

// Whether probability (row, j) survives dropout; row = (b * q_heads + h) * q_seq + i.
static inline int dk_dropout_keep(uint64_t seed, uint32_t threshold, int64_t row, int64_t kv_seq, int64_t j) {
    return dk_philox4x32_10_first((uint64_t)(row * kv_seq + j), seed) >= threshold;
}
