// A double as the sum of two floats, for subtracting a mean in float without losing the bits a
// float mean would round away: (x - hi) - lo is x - mean to within a float rounding of the result,
// even when the data sit far from zero (x = 1000 +- 2).
#pragma once

namespace dk {

struct FloatPair {
    float hi, lo;
    explicit FloatPair(double v) : hi(static_cast<float>(v)), lo(static_cast<float>(v - static_cast<float>(v))) {}
};

} // namespace dk
