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
    float scale = 1;          // input magnitude
    int64_t pb = -1, pr = -1; // padding after (-1: as before)
    int64_t dh = 1, dw = 1, groups = 1;
    int32_t act = DK_ACTIVATION_NONE;
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
    char buf[200];
    std::snprintf(buf, sizeof buf, "%lldx%lldx%lldx%lld:%lldx%lldx%lld:s%lldx%lld:p%lld,%lld,%lld,%lld:d%lldx%lld:g%lld:a%d",
                  (long long)s.n, (long long)s.c, (long long)s.h, (long long)s.w, (long long)s.oc, (long long)s.kh,
                  (long long)s.kw, (long long)s.sh, (long long)s.sw, (long long)s.ph, (long long)s.pw,
                  (long long)(s.pb < 0 ? s.ph : s.pb), (long long)(s.pr < 0 ? s.pw : s.pr), (long long)s.dh,
                  (long long)s.dw, (long long)s.groups, s.act);
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
        // dilation, groups, depthwise, asymmetric padding, fused activation
        {2, 6, 11, 9, 6, 3, 3, 1, 1, 2, 2, 1, -1, -1, 2, 2},
        {1, 4, 12, 10, 3, 3, 3, 1, 1, 2, 4, 1, -1, -1, 2, 4},
        {1, 5, 13, 13, 7, 3, 3, 2, 2, 2, 2, 1, -1, -1, 2, 2},
        {1, 4, 8, 8, 4, 3, 3, 1, 1, 0, 0, 1, 2, 2},
        {2, 5, 7, 9, 6, 4, 4, 1, 1, 1, 1, 1, 2, 2},
        {2, 8, 7, 7, 8, 3, 3, 1, 1, 1, 1, 1, -1, -1, 1, 1, 2},
        {2, 6, 6, 6, 9, 3, 3, 2, 2, 1, 1, 1, -1, -1, 1, 1, 3, DK_ACTIVATION_RELU},
        {2, 24, 10, 10, 36, 1, 1, 1, 1, 0, 0, 1, -1, -1, 1, 1, 3},
        {1, 17, 9, 9, 17, 3, 3, 1, 1, 1, 1, 1, -1, -1, 1, 1, 17},          // depthwise, odd channels
        {2, 32, 15, 15, 32, 3, 3, 2, 2, 1, 1, 1, -1, -1, 1, 1, 32, DK_ACTIVATION_RELU},
        {1, 8, 10, 10, 16, 3, 3, 1, 1, 1, 1, 1, -1, -1, 1, 1, 8},           // depthwise multiplier 2
        {1, 5, 9, 9, 10, 5, 5, 1, 1, 4, 4, 1, -1, -1, 2, 2, 5},             // depthwise 5x5 dilated
        {1, 24, 6, 6, 24, 3, 3, 1, 1, 0, 0, 1, 2, 2, 1, 1, 24},             // depthwise, 'same' asymmetric
        {2, 12, 9, 9, 20, 3, 3, 1, 1, 1, 1, 1, -1, -1, 1, 1, 1, DK_ACTIVATION_RELU},
        {2, 12, 9, 9, 20, 3, 3, 1, 1, 1, 1, 1, -1, -1, 1, 1, 1, DK_ACTIVATION_GELU},
        {2, 12, 9, 9, 20, 1, 1, 1, 1, 0, 0, 1, -1, -1, 1, 1, 1, DK_ACTIVATION_GELU},
    };
    return cases;
}

void run_case(const ConvCase &s, std::mt19937 &rng) {
    dk_conv2d_desc d{};
    d.n = s.n, d.c = s.c, d.h = s.h, d.w = s.w, d.oc = s.oc, d.kernel_h = s.kh, d.kernel_w = s.kw;
    d.stride_h = s.sh, d.stride_w = s.sw, d.pad_h = s.ph, d.pad_w = s.pw;
    d.pad_h_end = s.pb < 0 ? s.ph : s.pb, d.pad_w_end = s.pr < 0 ? s.pw : s.pr;
    d.dilation_h = s.dh, d.dilation_w = s.dw, d.groups = s.groups, d.activation = DK_ACTIVATION_NONE;
    const int64_t oh = (s.h + d.pad_h + d.pad_h_end - s.dh * (s.kh - 1) - 1) / s.sh + 1;
    const int64_t ow = (s.w + d.pad_w + d.pad_w_end - s.dw * (s.kw - 1) - 1) / s.sw + 1;
    auto x = random_vec(s.n * s.c * s.h * s.w, s.scale, rng), w = random_vec(s.oc * (s.c / s.groups) * s.kh * s.kw, 1, rng);
    auto bias = random_vec(s.oc, s.scale, rng), dy = random_vec(s.n * s.oc * oh * ow, s.scale, rng);
    std::vector<float> y0(dy.size()), dx0(x.size()), dw0(w.size()), db0(s.oc);
    dk_conv2d_desc fd = d;
    fd.activation = s.act;
    CHECK(dk_conv2d_forward(DK_BACKEND_REF, &fd, y0.data(), y0.size(), x.data(), x.size(), w.data(), w.size(),
                            bias.data(), bias.size()) == DK_OK);
    CHECK(dk_conv2d_backward_data(DK_BACKEND_REF, &d, dx0.data(), dx0.size(), dy.data(), dy.size(), w.data(),
                                  w.size()) == DK_OK);
    CHECK(dk_conv2d_backward_weights(DK_BACKEND_REF, &d, dw0.data(), dw0.size(), db0.data(), db0.size(), dy.data(),
                                     dy.size(), x.data(), x.size()) == DK_OK);
    std::vector<float> y(dy.size(), NAN), dx(x.size(), NAN), dw(w.size(), NAN), db(s.oc, NAN);
    CHECK(dk_conv2d_forward(DK_BACKEND_NATIVE, &fd, y.data(), y.size(), x.data(), x.size(), w.data(), w.size(),
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

// Each kernel family is picked for the shapes it is meant for (so the comparisons above exercise
// them, not a fallback).
TEST(conv_native_dispatch) {
    auto name = [](int64_t c, int64_t oc, int64_t k, int64_t stride, int64_t pad, int64_t groups) {
        dk_conv2d_desc d{};
        d.n = 2, d.c = c, d.h = 12, d.w = 12, d.oc = oc, d.kernel_h = d.kernel_w = k, d.stride_h = d.stride_w = stride;
        d.pad_h = d.pad_w = d.pad_h_end = d.pad_w_end = pad, d.dilation_h = d.dilation_w = 1, d.groups = groups;
        const char *n = dk_conv2d_impl_name(DK_BACKEND_NATIVE, &d);
        return std::string(n ? n : "(null)");
    };
    CHECK(name(16, 32, 1, 1, 0, 1) == "1x1_gemm");
    CHECK(name(16, 32, 1, 2, 0, 1) == "1x1_gemm");
    const bool avx512 = std::string(dk_cpu_isa()) == "avx512";
    CHECK(name(16, 32, 3, 1, 1, 1) == (avx512 ? "direct_avx512" : "im2col+gemm"));
    CHECK(name(16, 32, 1, 1, 1, 1) == (avx512 ? "direct_avx512" : "im2col+gemm")); // 1x1 with padding
    CHECK(name(16, 32, 3, 2, 1, 4) == (avx512 ? "direct_avx512" : "im2col+gemm"));
    CHECK(name(16, 16, 3, 1, 1, 16) == (avx512 ? "depthwise_avx512" : "im2col+gemm"));
    CHECK(name(16, 32, 1, 1, 0, 16) == (avx512 ? "depthwise_avx512" : "1x1_gemm"));
}
