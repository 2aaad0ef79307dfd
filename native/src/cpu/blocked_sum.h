// The sum of term(i) over [0, n) as a vectorized loop: float partial sums across SIMD lanes
// over blocks of kSumBlock elements, the blocks added in double. The error therefore grows with
// the block length, not with n (a 50 000-element row sums as precisely as a 1000-element one).
// For DK_CLONE_BODY loops (cpu/isa_clones.h): `term` is a lambda inlined into the clone, which
// vectorizes it for that clone's ISA; it may store as it goes (y[i] = e, return e).
#pragma once

#include <algorithm>
#include <cstdint>

namespace dk {

constexpr int64_t kSumBlock = 1024;

template <class Term>
static inline __attribute__((always_inline)) double blocked_sum(int64_t n, Term term) {
    double sum = 0;
    for (int64_t b = 0; b < n; b += kSumBlock) {
        const int64_t e = std::min(n, b + kSumBlock);
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t i = b; i < e; ++i) s += term(i);
        sum += s;
    }
    return sum;
}

} // namespace dk
