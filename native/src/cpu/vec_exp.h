// exp(x) in float, written so that the compiler vectorizes it inside a DK_CLONE_BODY loop
// (cpu/isa_clones.h) for every ISA: no libm call, no table, no branch — only multiplies,
// adds, an integer shift and selects.
//
//   x = n ln2 + r, |r| <= ln2 / 2, n an integer (rounded with the 1.5 * 2^23 trick; the build
//   never reassociates floating point, so the trick survives -O3);
//   exp(r) = 1 + r + r^2 P(r) with P of degree 5 fitted on |r| <= ln2/2 (Cephes' expf
//   coefficients), adding the small terms first; 2^n added to the exponent bits.
// Inputs below -87 give 0 (exp(-87) = 1.6e-38, at the edge of the normal floats), inputs above
// 88.72 (where float overflows) give +inf, NaN gives NaN. Against the double exp over
// [-87, 88.72]: below 1 ulp for every ISA (ctest vec_expf_accuracy).
#pragma once

#include <cstdint>
#include <cstring>

namespace dk {

static inline __attribute__((always_inline)) float vec_expf(float x) {
    constexpr float kLog2e = 1.44269504088896341f;
    constexpr float kLn2Hi = 0.693145751953125f;   // ln 2 with its low 12 bits cleared: n * kLn2Hi is exact
    constexpr float kLn2Lo = 1.42860682030941723e-6f;
    constexpr float kRound = 12582912.0f;          // 1.5 * 2^23
    const float xc = x < -87.0f ? -87.0f : (x > 88.72f ? 88.72f : x);
    const float shifted = xc * kLog2e + kRound;     // n in the low mantissa bits
    const float n = shifted - kRound;
    const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = (p * (r * r) + r) + 1.0f;
    uint32_t pbits, sbits, kbits;
    std::memcpy(&pbits, &p, 4);
    std::memcpy(&sbits, &shifted, 4);
    std::memcpy(&kbits, &kRound, 4);
    pbits += (sbits - kbits) << 23; // exponent + n (n in [-126, 128] and the result normal)
    float y;
    std::memcpy(&y, &pbits, 4);
    y = x > 88.72f ? __builtin_inff() : y;
    y = x < -87.0f ? 0.0f : y;
    return x != x ? x : y;
}

} // namespace dk
