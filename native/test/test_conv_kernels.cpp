// The native convolution kernels (issue 4: 1x1 GEMM, direct implicit GEMM, depthwise, Winograd)
// against the double-precision reference on a benchdnn-like shape list: channel counts 1, 3, 17,
// tails of every tile, stride 2 on odd sizes, 1x1 input, kernels larger than the input, large
// values; forward (with bias), backward data, backward weights and the bias gradient. Outputs
// start as NaN, so an element an implementation forgets to write fails the comparison.
#include "check.h"
#include "deepkern.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace {

struct ConvCase {
    int64_t n, c, h, w, oc, kh, kw, sh, sw, ph, pw;
    float scale; // input magnitude
};

std::vector<float> random_vec(size_t n, float scale, std::mt19937 &rng) {
    std::uniform_real_distribution<float> dist(-scale, scale);
    std::vector<float> v(n);
    for (float &x : v) x = dist(rng);
    return v;
}

// max |a - b| over max |b|: the error relative to the tensor's magnitude.
double normalized_error(const std::vector<float> &a, const std::vector<float> &b) {
    double worst = 0, mag = 1e-30;
    for (size_t i = 0; i < a.size(); ++i) {
        const double d = std::fabs(double(a[i]) - double(b[i]));
        worst = std::isnan(d) ? INFINITY : std::max(worst, d);
        mag = std::max(mag, std::fabs(double(b[i])));
    }
    return worst / mag;
}

std::string describe(const ConvCase &s) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%lldx%lldx%lldx%lld:%lldx%lldx%lld:s%lldx%lld:p%lldx%lld", (long long)s.n,
                  (long long)s.c, (long long)s.h, (long long)s.w, (long long)s.oc, (long long)s.kh, (long long)s.kw,
                  (long long)s.sh, (long long)s.sw, (long long)s.ph, (long long)s.pw);
    return buf;
}

const std::vector<ConvCase> &conv_cases() {
    static const std::vector<ConvCase> cases = {
        {2, 3, 17, 19, 17, 3, 3, 1, 1, 1, 1, 1},   // channels 3 and 17, odd sizes
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1},      // everything 1
        {1, 1, 1, 1, 5, 3, 3, 1, 1, 1, 1, 1},      // 1x1 input, 3x3 kernel in the padding
        {2, 17, 9, 11, 33, 3, 3, 2, 2, 1, 1, 1},   // stride 2 on odd sizes
        {1, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1},  // a ResNet layer, small
        {1, 32, 7, 7, 48, 3, 3, 1, 1, 1, 1, 1},    // 7x7: strips across rows
        {2, 16, 13, 13, 20, 5, 5, 1, 1, 2, 2, 1},  // 5x5
        {1, 3, 23, 23, 16, 7, 7, 2, 2, 3, 3, 1},   // conv1-like: 7x7 stride 2 on 3 channels
        {1, 13, 10, 10, 14, 1, 1, 1, 1, 0, 0, 1},  // 1x1
        {2, 24, 9, 9, 30, 1, 1, 2, 2, 0, 0, 1},    // 1x1 stride 2 on odd sizes
        {1, 8, 6, 6, 12, 3, 3, 1, 1, 0, 0, 1},     // no padding
        {1, 5, 4, 4, 7, 3, 3, 1, 1, 2, 2, 1},      // padding wider than half the kernel
        {3, 20, 5, 8, 13, 3, 1, 1, 2, 1, 0, 1},    // 3x1 kernel, different strides
        {1, 40, 3, 50, 25, 1, 5, 1, 1, 0, 2, 1},   // wide rows, 1x5 kernel
        {2, 9, 12, 12, 11, 3, 3, 3, 3, 1, 1, 1},   // stride 3
        {1, 300, 6, 6, 20, 3, 3, 1, 1, 1, 1, 1},   // several k blocks
        {1, 16, 9, 9, 16, 3, 3, 1, 1, 1, 1, 1e4f}, // large values
    };
    return cases;
}

void run_case(const ConvCase &s, std::mt19937 &rng) {
    dk_conv2d_desc d{s.n, s.c, s.h, s.w, s.oc, s.kh, s.kw, s.sh, s.sw, s.ph, s.pw};
    const int64_t oh = (s.h + 2 * s.ph - s.kh) / s.sh + 1, ow = (s.w + 2 * s.pw - s.kw) / s.sw + 1;
    auto x = random_vec(s.n * s.c * s.h * s.w, s.scale, rng), w = random_vec(s.oc * s.c * s.kh * s.kw, 1, rng);
    auto bias = random_vec(s.oc, s.scale, rng), dy = random_vec(s.n * s.oc * oh * ow, s.scale, rng);
    std::vector<float> y0(dy.size()), dx0(x.size()), dw0(w.size()), db0(s.oc);
    CHECK(dk_conv2d_forward(DK_BACKEND_REF, &d, y0.data(), y0.size(), x.data(), x.size(), w.data(), w.size(),
                            bias.data(), bias.size()) == DK_OK);
    CHECK(dk_conv2d_backward_data(DK_BACKEND_REF, &d, dx0.data(), dx0.size(), dy.data(), dy.size(), w.data(),
                                  w.size()) == DK_OK);
    CHECK(dk_conv2d_backward_weights(DK_BACKEND_REF, &d, dw0.data(), dw0.size(), db0.data(), db0.size(), dy.data(),
                                     dy.size(), x.data(), x.size()) == DK_OK);
    std::vector<float> y(dy.size(), NAN), dx(x.size(), NAN), dw(w.size(), NAN), db(s.oc, NAN);
    CHECK(dk_conv2d_forward(DK_BACKEND_NATIVE, &d, y.data(), y.size(), x.data(), x.size(), w.data(), w.size(),
                            bias.data(), bias.size()) == DK_OK);
    CHECK(dk_conv2d_backward_data(DK_BACKEND_NATIVE, &d, dx.data(), dx.size(), dy.data(), dy.size(), w.data(),
                                  w.size()) == DK_OK);
    CHECK(dk_conv2d_backward_weights(DK_BACKEND_NATIVE, &d, dw.data(), dw.size(), db.data(), db.size(), dy.data(),
                                     dy.size(), x.data(), x.size()) == DK_OK);
    // fp32 sums of up to c * kh * kw (or n * oh * ow) products against double sums
    const double tol = 2e-5;
    const std::string what = describe(s);
    CHECK_MSG(normalized_error(y, y0) < tol, "forward " + what + " err " + std::to_string(normalized_error(y, y0)));
    CHECK_MSG(normalized_error(dx, dx0) < tol, "backward data " + what + " err " + std::to_string(normalized_error(dx, dx0)));
    CHECK_MSG(normalized_error(dw, dw0) < tol, "backward weights " + what + " err " + std::to_string(normalized_error(dw, dw0)));
    CHECK_MSG(normalized_error(db, db0) < tol, "bias gradient " + what);
}

} // namespace

TEST(conv_native_matches_ref) {
    std::mt19937 rng(11);
    for (const ConvCase &s : conv_cases()) run_case(s, rng);
}

// The same shapes on one thread and on two: the kernels split work differently.
TEST(conv_native_matches_ref_threads) {
    std::mt19937 rng(12);
    for (int t : {1, 2}) {
        CHECK(dk_set_num_threads(t) == DK_OK);
        for (const ConvCase &s : conv_cases()) run_case(s, rng);
        for (int64_t n : {1, 3, 8}) run_case({n, 24, 10, 10, 40, 3, 3, 1, 1, 1, 1, 1}, rng);
    }
}
