// The inner kernels of the fused CPU attention (native/src/cpu/attention/attention_kernels.h),
// compiled into the test executable from the same sources with the same ISA flags and called
// directly: exp2_rows, the online softmax's exponential, against exp2 in double over the whole
// float range it sees (every exponent from -inf and -FLT_MAX up to 127, denormal results
// included), in ulps of the float result.
#include "check.h"
#include "deepkern.h"
#include "../src/cpu/attention/attention_kernels.h"

#include <cfloat>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace {

using dk::attention::Kernels;
using dk::attention::lanes;

// |got - want| in units of the last place of want rounded to float (2^-149 below FLT_MIN).
double ulps(float got, double want) {
    if (want == 0.0) return got == 0.0f ? 0.0 : INFINITY;
    const double ulp = std::ldexp(1.0, std::max(std::ilogb(want), FLT_MIN_EXP - 1) - (FLT_MANT_DIG - 1));
    return std::fabs(static_cast<double>(got) - want) / ulp;
}

// exp2_rows with m = 0 over rows of inputs; the largest error in ulps, and sum checked too.
double worst_exp2(const Kernels &K, const std::vector<float> &xs, std::string &where) {
    std::vector<float> p(lanes * 16), m(lanes, 0.0f), sum(lanes);
    double worst = 0;
    for (size_t i0 = 0; i0 < xs.size(); i0 += p.size()) {
        const int rows = static_cast<int>(std::min<size_t>(16, (xs.size() - i0 + lanes - 1) / lanes));
        for (size_t e = 0; e < p.size(); ++e) p[e] = i0 + e < xs.size() ? xs[i0 + e] : -INFINITY;
        std::fill(sum.begin(), sum.end(), 1.0f);
        K.exp2_rows(p.data(), rows, m.data(), sum.data());
        for (int c = 0; c < lanes; ++c) {
            double want_sum = 1.0;
            for (int j = 0; j < rows; ++j) {
                const size_t e = j * lanes + c;
                const float x = i0 + e < xs.size() ? xs[i0 + e] : -INFINITY;
                const double want = std::exp2(static_cast<double>(x));
                want_sum += want;
                const double u = ulps(p[e], want);
                if (!(u <= worst)) worst = u, where = "x = " + std::to_string(x) + " gave " + std::to_string(p[e]);
            }
            if (want_sum < 0.5 * FLT_MAX && !(std::fabs(sum[c] - want_sum) <= 1e-5 * want_sum)) {
                worst = INFINITY, where = "the sum of lane " + std::to_string(c);
            }
        }
    }
    return worst;
}

} // namespace

TEST(attention_exp2_kernels) {
    std::vector<float> xs = {-INFINITY, -FLT_MAX, -1e30f, -1e10f, -8388609.0f, -1000.0f, -200.0f, -151.0f,
                             -150.0f, -149.5f, -149.0f, -126.5f, -126.0f, -125.9f, -1.0f, -0.5f,
                             -FLT_MIN, -1e-40f, -1e-30f, -0.0f, 0.0f, 1e-30f, 0.5f, 1.0f, 126.9f, 127.0f};
    // every exponent step: 2^20 points spread over [-160, 127], plus all floats near 0 and -1
    for (int i = 0; i <= (1 << 20); ++i) xs.push_back(-160.0f + 287.0f * static_cast<float>(i) / (1 << 20));
    for (float x = -1.0f, y = 1e-7f; x < -0.99f; x = std::nextafter(x, 0.0f)) xs.push_back(x), xs.push_back(-y), y *= 1.001f;
    for (int i = 0; i < 20000; ++i) xs.push_back(-std::ldexp(1.0f, -i % 150) * (1.0f + i * 1e-5f));
    // The kernel sets of the CPU: AVX-512 and AVX2 when it has them, the portable one always.
    const std::string isa = dk_cpu_isa(), features = dk_cpu_features();
    struct {
        const char *name;
        const Kernels &k;
        bool here;
    } sets[] = {{"avx512", dk::attention::kernels_avx512, isa == "avx512"},
                {"avx2", dk::attention::kernels_avx2, features.find("avx2") != std::string::npos &&
                                                          features.find("fma") != std::string::npos},
                {"generic", dk::attention::kernels_generic, true}};
    for (const auto &s : sets) {
        if (!s.here) {
            std::printf("skipped %s: not on this CPU\n", s.name);
            continue;
        }
        std::string where;
        const double worst = worst_exp2(s.k, xs, where);
        std::printf("%s: exp2_rows worst error %.3f ulp (%s)\n", s.name, worst, where.c_str());
        CHECK_MSG(worst <= 1.5, std::string(s.name) + ": " + std::to_string(worst) + " ulp at " + where);
    }
}
