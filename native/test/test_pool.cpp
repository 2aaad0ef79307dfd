// Pooling (issue 4): the CPU kernels (native) and oneDNN's primitives (onednn) against the
// reference on edge shapes (tails, stride > kernel, odd sizes, asymmetric padding,
// count_include_pad, global average pooling), the argmax variants, values worked out by hand,
// and bad descriptors rejected with the field named.
#include "check.h"
#include "deepkern.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace {

struct P {
    int alg;
    int64_t n, c, h, w, kh, kw, sh, sw, pt, pl, pb, pr;
    int include_pad;
};

dk_pool2d_desc desc(const P &p) {
    return {p.alg, p.n, p.c, p.h, p.w, p.kh, p.kw, p.sh, p.sw, p.pt, p.pl, p.pb, p.pr, p.include_pad};
}

int64_t out_h(const dk_pool2d_desc &d) { return (d.h + d.pad_h + d.pad_h_end - d.kernel_h) / d.stride_h + 1; }
int64_t out_w(const dk_pool2d_desc &d) { return (d.w + d.pad_w + d.pad_w_end - d.kernel_w) / d.stride_w + 1; }

// Distinct values (a shuffled ramp): no ties, so every implementation's max is the same element.
std::vector<float> distinct(int64_t n, std::mt19937 &rng) {
    std::vector<float> v(n);
    std::iota(v.begin(), v.end(), 0.0f);
    std::shuffle(v.begin(), v.end(), rng);
    for (float &x : v) x = x / n - 0.5f;
    return v;
}

float diff(const std::vector<float> &a, const std::vector<float> &b) {
    float worst = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        const float e = std::fabs(a[i] - b[i]) / (1.0f + std::fabs(b[i]));
        worst = std::max(worst, e != e ? INFINITY : e);
    }
    return worst;
}

const P SHAPES[] = {
    {DK_POOL_MAX, 2, 3, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0, 0},      {DK_POOL_MAX, 1, 2, 7, 5, 3, 3, 2, 2, 1, 1, 1, 1, 0},
    {DK_POOL_MAX, 2, 1, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 0},      {DK_POOL_MAX, 1, 3, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 0},
    {DK_POOL_MAX, 1, 2, 9, 37, 2, 3, 3, 4, 1, 0, 0, 2, 0},     {DK_POOL_MAX, 3, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0},
    {DK_POOL_MAX, 1, 1, 17, 19, 4, 4, 1, 1, 1, 2, 2, 1, 0},    {DK_POOL_MAX, 2, 2, 5, 70, 2, 5, 1, 1, 0, 2, 1, 2, 0},
    {DK_POOL_AVG, 2, 3, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0, 0},      {DK_POOL_AVG, 1, 2, 7, 5, 3, 3, 2, 2, 1, 1, 1, 1, 0},
    {DK_POOL_AVG, 1, 2, 7, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1},      {DK_POOL_AVG, 2, 1, 6, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1},
    {DK_POOL_AVG, 1, 2, 9, 37, 2, 3, 3, 4, 1, 0, 0, 2, 0},     {DK_POOL_AVG, 1, 2, 9, 37, 2, 3, 3, 4, 1, 0, 0, 2, 1},
    {DK_POOL_AVG, 2, 4, 7, 7, 7, 7, 1, 1, 0, 0, 0, 0, 0},      {DK_POOL_AVG, 1, 3, 13, 11, 13, 11, 1, 1, 0, 0, 0, 0, 0},
    {DK_POOL_AVG, 1, 2, 5, 600, 3, 3, 1, 1, 1, 1, 1, 1, 0},    {DK_POOL_AVG, 1, 1, 17, 19, 4, 4, 1, 1, 1, 2, 2, 1, 1},
};

} // namespace

// native and onednn against ref, forward and backward; the argmax variants on every backend.
TEST(pool2d_shapes_match_ref) {
    std::mt19937 rng(31);
    std::vector<dk_backend> backends = {DK_BACKEND_NATIVE};
    if (dk_backend_check(DK_BACKEND_ONEDNN) == DK_OK) backends.push_back(DK_BACKEND_ONEDNN);
    int idx = 0;
    for (const P &p : SHAPES) {
        const dk_pool2d_desc d = desc(p);
        const std::string what = "shape " + std::to_string(idx++);
        const int64_t xn = d.n * d.c * d.h * d.w, yn = d.n * d.c * out_h(d) * out_w(d);
        const auto x = distinct(xn, rng), dy = distinct(yn, rng);
        std::vector<float> y0(yn), dx0(xn);
        CHECK(dk_pool2d_forward(DK_BACKEND_REF, &d, y0.data(), yn, x.data(), xn) == DK_OK);
        CHECK(dk_pool2d_backward(DK_BACKEND_REF, &d, dx0.data(), xn, dy.data(), yn, x.data(), xn) == DK_OK);
        for (dk_backend b : backends) {
            std::vector<float> y(yn, NAN), dx(xn, NAN);
            CHECK_MSG(dk_pool2d_forward(b, &d, y.data(), yn, x.data(), xn) == DK_OK, dk_last_error());
            CHECK_MSG(dk_pool2d_backward(b, &d, dx.data(), xn, dy.data(), yn, x.data(), xn) == DK_OK, dk_last_error());
            CHECK_MSG(diff(y, y0) < 1e-6f, "forward " + what + " backend " + std::to_string(b));
            CHECK_MSG(diff(dx, dx0) < 1e-6f, "backward " + what + " backend " + std::to_string(b));
        }
        if (p.alg != DK_POOL_MAX) continue;
        std::vector<int32_t> i0(yn, -1);
        std::vector<float> yi0(yn, NAN);
        CHECK(dk_max_pool2d_forward_indices(DK_BACKEND_REF, &d, yi0.data(), yn, i0.data(), yn, x.data(), xn) == DK_OK);
        CHECK(yi0 == y0);
        for (int64_t i = 0; i < yn; ++i) CHECK(x[(i / (out_h(d) * out_w(d))) * d.h * d.w + i0[i]] == y0[i]);
        for (dk_backend b : backends) {
            std::vector<int32_t> ib(yn, -1);
            std::vector<float> yb(yn, NAN), dxb(xn, NAN);
            CHECK_MSG(dk_max_pool2d_forward_indices(b, &d, yb.data(), yn, ib.data(), yn, x.data(), xn) == DK_OK, dk_last_error());
            CHECK_MSG(yb == y0 && ib == i0, "argmax forward " + what + " backend " + std::to_string(b));
            CHECK_MSG(dk_max_pool2d_backward_indices(b, &d, dxb.data(), xn, dy.data(), yn, ib.data(), yn) == DK_OK, dk_last_error());
            CHECK_MSG(diff(dxb, dx0) < 1e-6f, "argmax backward " + what + " backend " + std::to_string(b));
        }
    }
}

// Values by hand: count_include_pad, ties (the first maximum), global average pooling.
TEST(pool2d_against_formulas) {
    std::vector<float> ones(16, 1.0f), y(16), dx(16);
    for (dk_backend b : {DK_BACKEND_REF, DK_BACKEND_NATIVE, DK_BACKEND_ONEDNN}) {
        if (dk_backend_check(b) != DK_OK) continue;
        dk_pool2d_desc d = desc({DK_POOL_AVG, 1, 1, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1});
        CHECK(dk_pool2d_forward(b, &d, y.data(), 16, ones.data(), 16) == DK_OK);
        CHECK_MSG(std::fabs(y[0] - 4.0f / 9) < 1e-6f && std::fabs(y[1] - 6.0f / 9) < 1e-6f && std::fabs(y[5] - 1) < 1e-6f,
                  "count_include_pad, backend " + std::to_string(b));
        d.count_include_pad = 0;
        CHECK(dk_pool2d_forward(b, &d, y.data(), 16, ones.data(), 16) == DK_OK);
        CHECK(std::fabs(y[0] - 1) < 1e-6f && std::fabs(y[1] - 1) < 1e-6f);
        // global average of 0..15 is 7.5; its gradient 1/16 everywhere
        std::vector<float> ramp(16);
        std::iota(ramp.begin(), ramp.end(), 0.0f);
        dk_pool2d_desc g = desc({DK_POOL_AVG, 1, 1, 4, 4, 4, 4, 1, 1, 0, 0, 0, 0, 0});
        std::vector<float> one = {1.0f};
        CHECK(dk_pool2d_forward(b, &g, y.data(), 1, ramp.data(), 16) == DK_OK && y[0] == 7.5f);
        CHECK(dk_pool2d_backward(b, &g, dx.data(), 16, one.data(), 1, ramp.data(), 16) == DK_OK);
        CHECK(std::all_of(dx.begin(), dx.end(), [](float v) { return v == 1.0f / 16; }));
    }
    // ties: a constant plane's max gradient goes to each window's first element
    dk_pool2d_desc m = desc({DK_POOL_MAX, 1, 1, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, 0});
    std::vector<float> dy = {1, 2, 3, 4};
    std::vector<int32_t> idx(4);
    for (dk_backend b : {DK_BACKEND_REF, DK_BACKEND_NATIVE}) {
        CHECK(dk_max_pool2d_forward_indices(b, &m, y.data(), 4, idx.data(), 4, ones.data(), 16) == DK_OK);
        CHECK(idx == (std::vector<int32_t>{0, 2, 8, 10}));
        CHECK(dk_pool2d_backward(b, &m, dx.data(), 16, dy.data(), 4, ones.data(), 16) == DK_OK);
        CHECK(dx[0] == 1 && dx[2] == 2 && dx[8] == 3 && dx[10] == 4 && dx[1] == 0 && dx[5] == 0);
    }
}

TEST(pool2d_bad_input) {
    std::vector<float> buf(256);
    std::vector<int32_t> idx(64, 0);
    auto expect = [&](dk_status got, dk_status want, const char *needle) {
        CHECK_MSG(got == want, std::string(needle) + ": status " + std::to_string(got));
        CHECK_MSG(std::string(dk_last_error()).find(needle) != std::string::npos,
                  std::string("expected '") + needle + "' in: " + dk_last_error());
    };
    const dk_pool2d_desc ok = desc({DK_POOL_MAX, 1, 1, 8, 8, 2, 2, 2, 2, 0, 0, 0, 0, 0});
    float *y = buf.data(), *x = buf.data() + 64;
    dk_pool2d_desc d = ok;
    d.pad_h_end = 2;
    expect(dk_pool2d_forward(DK_BACKEND_NATIVE, &d, y, 64, x, 64), DK_INVALID_ARGUMENT, "pad_h_end must be in [0, kernel_h = 2)");
    d = ok, d.pad_w = -1;
    expect(dk_pool2d_forward(DK_BACKEND_ONEDNN, &d, y, 64, x, 64), DK_INVALID_ARGUMENT, "pad_w must be in [0, kernel_w = 2)");
    d = ok, d.alg = DK_POOL_AVG, d.count_include_pad = 2;
    expect(dk_pool2d_forward(DK_BACKEND_NATIVE, &d, y, 64, x, 64), DK_INVALID_ARGUMENT, "count_include_pad must be 0 or 1, got 2");
    d = ok, d.alg = DK_POOL_AVG;
    expect(dk_max_pool2d_forward_indices(DK_BACKEND_NATIVE, &d, y, 16, idx.data(), 16, x, 64), DK_INVALID_ARGUMENT,
           "alg must be DK_POOL_MAX");
    expect(dk_max_pool2d_forward_indices(DK_BACKEND_NATIVE, &ok, y, 16, idx.data(), 15, x, 64), DK_INVALID_ARGUMENT,
           "indices needs 16");
    expect(dk_max_pool2d_forward_indices(DK_BACKEND_NATIVE, &ok, y, 16, nullptr, 16, x, 64), DK_NULL_POINTER,
           "indices must not be null");
    idx[3] = 64;
    expect(dk_max_pool2d_backward_indices(DK_BACKEND_NATIVE, &ok, x, 64, y, 16, idx.data(), 16), DK_INVALID_ARGUMENT,
           "indices[3] = 64 is not a position");
    idx[3] = -1;
    expect(dk_max_pool2d_backward_indices(DK_BACKEND_ONEDNN, &ok, x, 64, y, 16, idx.data(), 16), DK_INVALID_ARGUMENT,
           "indices[3] = -1");
    d = ok, d.n = int64_t(1) << 40, d.c = int64_t(1) << 30;
    expect(dk_pool2d_forward(DK_BACKEND_NATIVE, &d, y, 64, x, 64), DK_INVALID_ARGUMENT, "overflows a 64-bit size");
    d = ok, d.h = int64_t(1) << 16, d.w = int64_t(1) << 16;
    expect(dk_max_pool2d_forward_indices(DK_BACKEND_NATIVE, &d, y, 16, idx.data(), 16, x, 64), DK_INVALID_ARGUMENT,
           "must be < 2^31 for int32 indices");
}
