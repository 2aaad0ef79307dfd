// conv2d (issue 4): every backend's implementation against the reference over the shape list
// (native/test/shapes/conv2d.txt), the reference against constructions that do not share its
// code (groups as separate convolutions, dilation as a kernel with zeros inserted, asymmetric
// padding as a padded input, the backward passes as the forward's adjoint), and bad descriptors
// rejected with the field named.
#include "check.h"
#include "conv_shapes.h"
#include "deepkern.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace {

using dkt::conv_oh;
using dkt::conv_ow;

using dkt::random_vec;

// max |a - b| / max(1, max |b|): the error relative to the tensor's scale.
float scaled_diff(const std::vector<float> &a, const std::vector<float> &b) {
    float worst = 0, scale = 1;
    for (size_t i = 0; i < b.size(); ++i) scale = std::max(scale, std::fabs(b[i]));
    for (size_t i = 0; i < a.size(); ++i) {
        const float e = std::fabs(a[i] - b[i]);
        worst = std::max(worst, e != e ? INFINITY : e);
    }
    return worst / scale;
}

struct ConvData {
    dk_conv2d_desc d;
    int64_t xn, wn, yn;
    std::vector<float> x, w, bias, dy;
};

ConvData make(const dk_conv2d_desc &d, std::mt19937 &rng) {
    ConvData c{d, d.n * d.c * d.h * d.w, d.oc * (d.c / d.groups) * d.kernel_h * d.kernel_w,
               d.n * d.oc * conv_oh(d) * conv_ow(d), {}, {}, {}, {}};
    c.x = random_vec(c.xn, rng), c.w = random_vec(c.wn, rng), c.bias = random_vec(d.oc, rng), c.dy = random_vec(c.yn, rng);
    return c;
}

std::vector<float> forward(dk_backend b, const dk_conv2d_desc &d, const ConvData &c, bool bias = true) {
    std::vector<float> y(c.yn, NAN);
    const dk_status s = dk_conv2d_forward(b, &d, y.data(), c.yn, c.x.data(), c.xn, c.w.data(), c.wn,
                                          bias ? c.bias.data() : nullptr, bias ? d.oc : 0);
    CHECK_MSG(s == DK_OK, dk_last_error());
    return y;
}

std::vector<float> backward_data(dk_backend b, const dk_conv2d_desc &d, const ConvData &c) {
    std::vector<float> dx(c.xn, NAN);
    dk_conv2d_desc g = d;
    g.activation = DK_ACTIVATION_NONE;
    CHECK_MSG(dk_conv2d_backward_data(b, &g, dx.data(), c.xn, c.dy.data(), c.yn, c.w.data(), c.wn) == DK_OK, dk_last_error());
    return dx;
}

std::pair<std::vector<float>, std::vector<float>> backward_weights(dk_backend b, const dk_conv2d_desc &d, const ConvData &c) {
    std::vector<float> dw(c.wn, NAN), db(d.oc, NAN);
    dk_conv2d_desc g = d;
    g.activation = DK_ACTIVATION_NONE;
    CHECK_MSG(dk_conv2d_backward_weights(b, &g, dw.data(), c.wn, db.data(), d.oc, c.dy.data(), c.yn, c.x.data(), c.xn) == DK_OK,
              dk_last_error());
    return {dw, db};
}

dk_conv2d_desc plain(int64_t n, int64_t c, int64_t h, int64_t w, int64_t oc, int64_t kh, int64_t kw) {
    dk_conv2d_desc d{};
    d.n = n, d.c = c, d.h = h, d.w = w, d.oc = oc, d.kernel_h = kh, d.kernel_w = kw;
    d.stride_h = d.stride_w = d.dilation_h = d.dilation_w = d.groups = 1;
    return d;
}

double dot(const std::vector<float> &a, const std::vector<float> &b) {
    double s = 0;
    for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
    return s;
}

} // namespace

// Every CPU backend's first supporting implementation against the reference, forward (bias and
// the fused activation), backward data, backward weights and bias, over the shape list.
TEST(conv2d_shapes_match_ref) {
    std::mt19937 rng(101);
    const auto shapes = dkt::read_conv_shapes(std::string(DK_TEST_SHAPES) + "/conv2d.txt");
    CHECK(shapes.size() >= 20);
    std::vector<dk_backend> backends = {DK_BACKEND_NATIVE};
    if (dk_backend_check(DK_BACKEND_ONEDNN) == DK_OK) backends.push_back(DK_BACKEND_ONEDNN);
    for (const auto &[line, d] : shapes) {
        const ConvData c = make(d, rng);
        const auto y0 = forward(DK_BACKEND_REF, d, c);
        const auto dx0 = backward_data(DK_BACKEND_REF, d, c);
        const auto [dw0, db0] = backward_weights(DK_BACKEND_REF, d, c);
        for (dk_backend b : backends) {
            const char *impl = dk_conv2d_impl_name(b, &d);
            const std::string what = line + " on backend " + std::to_string(b) + " (" + (impl ? impl : "?") + ")";
            CHECK_MSG(scaled_diff(forward(b, d, c), y0) < 2e-5f, "forward " + what);
            CHECK_MSG(scaled_diff(backward_data(b, d, c), dx0) < 2e-5f, "backward data " + what);
            const auto [dw, db] = backward_weights(b, d, c);
            CHECK_MSG(scaled_diff(dw, dw0) < 2e-5f, "backward weights " + what);
            CHECK_MSG(scaled_diff(db, db0) < 2e-5f, "bias gradient " + what);
        }
    }
}

// The reference's new features against constructions from the plain (dense, ungrouped,
// symmetric) convolution, and its backward passes as the adjoint of its forward.
TEST(conv2d_ref_generalizations) {
    std::mt19937 rng(202);
    // groups: the same as `groups` separate convolutions over channel slices.
    {
        dk_conv2d_desc d = plain(2, 6, 7, 5, 9, 3, 3);
        d.groups = 3, d.pad_h = d.pad_h_end = d.pad_w = d.pad_w_end = 1;
        const ConvData c = make(d, rng);
        const auto y = forward(DK_BACKEND_REF, d, c);
        const int64_t cg = 2, og = 3, sp = conv_oh(d) * conv_ow(d);
        for (int64_t g = 0; g < 3; ++g) {
            dk_conv2d_desc s = d;
            s.c = cg, s.oc = og, s.groups = 1;
            ConvData cs = make(s, rng);
            for (int64_t n = 0; n < d.n; ++n)
                std::copy_n(c.x.begin() + (n * d.c + g * cg) * d.h * d.w, cg * d.h * d.w, cs.x.begin() + n * cg * d.h * d.w);
            std::copy_n(c.w.begin() + g * og * cg * 9, og * cg * 9, cs.w.begin());
            std::copy_n(c.bias.begin() + g * og, og, cs.bias.begin());
            const auto ys = forward(DK_BACKEND_REF, s, cs);
            std::vector<float> expect(ys.size());
            for (int64_t n = 0; n < d.n; ++n)
                std::copy_n(y.begin() + (n * d.oc + g * og) * sp, og * sp, expect.begin() + n * og * sp);
            CHECK_MSG(scaled_diff(ys, expect) < 1e-6f, "group " + std::to_string(g));
        }
    }
    // dilation: the same as a dense kernel with dilation - 1 zeros between the taps.
    {
        dk_conv2d_desc d = plain(1, 3, 11, 12, 4, 3, 2);
        d.dilation_h = 2, d.dilation_w = 3, d.pad_h = 2, d.pad_h_end = 1, d.stride_w = 2;
        const ConvData c = make(d, rng);
        dk_conv2d_desc s = d;
        s.dilation_h = s.dilation_w = 1, s.kernel_h = 5, s.kernel_w = 4;
        ConvData cs = make(s, rng);
        std::fill(cs.w.begin(), cs.w.end(), 0.0f);
        for (int64_t oc = 0; oc < d.oc * d.c; ++oc)
            for (int64_t ky = 0; ky < 3; ++ky)
                for (int64_t kx = 0; kx < 2; ++kx) cs.w[(oc * 5 + ky * 2) * 4 + kx * 3] = c.w[(oc * 3 + ky) * 2 + kx];
        cs.x = c.x, cs.bias = c.bias;
        CHECK(conv_oh(s) == conv_oh(d) && conv_ow(s) == conv_ow(d));
        CHECK(scaled_diff(forward(DK_BACKEND_REF, s, cs), forward(DK_BACKEND_REF, d, c)) < 1e-6f);
    }
    // asymmetric padding: the same as an explicitly zero-padded input with no padding.
    {
        dk_conv2d_desc d = plain(2, 2, 5, 6, 3, 3, 2);
        d.pad_h = 1, d.pad_w = 0, d.pad_h_end = 2, d.pad_w_end = 3, d.stride_h = 2;
        const ConvData c = make(d, rng);
        dk_conv2d_desc s = d;
        s.h = 8, s.w = 9, s.pad_h = s.pad_w = s.pad_h_end = s.pad_w_end = 0;
        ConvData cs = make(s, rng);
        std::fill(cs.x.begin(), cs.x.end(), 0.0f);
        for (int64_t p = 0; p < d.n * d.c; ++p)
            for (int64_t i = 0; i < 5; ++i)
                for (int64_t j = 0; j < 6; ++j) cs.x[(p * 8 + i + 1) * 9 + j] = c.x[(p * 5 + i) * 6 + j];
        cs.w = c.w, cs.bias = c.bias;
        CHECK(conv_oh(s) == conv_oh(d) && conv_ow(s) == conv_ow(d));
        CHECK(scaled_diff(forward(DK_BACKEND_REF, s, cs), forward(DK_BACKEND_REF, d, c)) < 1e-6f);
    }
    // activation: relu(conv) and the tanh-form GELU of conv, after the bias.
    {
        dk_conv2d_desc d = plain(1, 3, 6, 6, 4, 3, 3);
        const ConvData c = make(d, rng);
        const auto z = forward(DK_BACKEND_REF, d, c);
        d.activation = DK_ACTIVATION_RELU;
        const auto r = forward(DK_BACKEND_REF, d, c);
        d.activation = DK_ACTIVATION_GELU;
        const auto g = forward(DK_BACKEND_REF, d, c);
        for (size_t i = 0; i < z.size(); ++i) {
            const double v = z[i];
            CHECK(r[i] == std::max(z[i], 0.0f));
            CHECK(std::fabs(g[i] - 0.5 * v * (1 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)))) < 1e-6);
        }
    }
    // <conv(x, w), dy> = <x, dgrad(dy, w)> = <w, wgrad(dy, x)>; <1, dy> = sum dbias (no bias).
    for (const char *line : {"2x6x9x8:9x3x2:s2:p1,0,2,1:d2:g3", "1x4x7x7:4x3x3:p1:g4", "2x3x5x5:2x1x1:s2"}) {
        const dk_conv2d_desc d = dkt::parse_conv_shape(line);
        const ConvData c = make(d, rng);
        const double yy = dot(forward(DK_BACKEND_REF, d, c, false), c.dy);
        const double xx = dot(c.x, backward_data(DK_BACKEND_REF, d, c));
        const auto [dw, db] = backward_weights(DK_BACKEND_REF, d, c);
        double sdy = 0, sdb = 0;
        for (float v : c.dy) sdy += v;
        for (float v : db) sdb += v;
        CHECK_MSG(std::fabs(yy - xx) < 1e-4 * (1 + std::fabs(yy)), std::string("backward data adjoint ") + line);
        CHECK_MSG(std::fabs(yy - dot(c.w, dw)) < 1e-4 * (1 + std::fabs(yy)), std::string("backward weights adjoint ") + line);
        CHECK_MSG(std::fabs(sdy - sdb) < 1e-4 * (1 + std::fabs(sdy)), std::string("bias gradient ") + line);
    }
}

// Bad descriptors fail before any memory is touched, naming the field.
TEST(conv2d_bad_input) {
    std::vector<float> buf(4096);
    auto expect = [&](dk_conv2d_desc d, int which, dk_status status, const char *needle) {
        dk_status s;
        float *p = buf.data();
        if (which == 0) s = dk_conv2d_forward(DK_BACKEND_NATIVE, &d, p, 1024, p + 1024, 1024, p + 2048, 1024, nullptr, 0);
        else if (which == 1) s = dk_conv2d_backward_data(DK_BACKEND_NATIVE, &d, p, 1024, p + 1024, 1024, p + 2048, 1024);
        else s = dk_conv2d_backward_weights(DK_BACKEND_NATIVE, &d, p, 1024, nullptr, 0, p + 1024, 1024, p + 2048, 1024);
        CHECK_MSG(s == status, std::string(needle) + ": status " + std::to_string(s));
        CHECK_MSG(std::string(dk_last_error()).find(needle) != std::string::npos,
                  std::string("expected '") + needle + "' in: " + dk_last_error());
    };
    const dk_conv2d_desc ok = plain(1, 4, 6, 6, 4, 3, 3);
    CHECK(dk_conv2d_impl_name(DK_BACKEND_NATIVE, &ok) != nullptr);
    dk_conv2d_desc d = ok;
    d.groups = 3;
    expect(d, 0, DK_INVALID_ARGUMENT, "groups (3) must divide c (4)");
    CHECK(dk_conv2d_impl_name(DK_BACKEND_NATIVE, &d) == nullptr);
    d = ok, d.oc = 6, d.groups = 4;
    expect(d, 0, DK_INVALID_ARGUMENT, "groups (4) must divide oc (6)");
    d = ok, d.groups = 0; // a descriptor from an older caller, not zero-initialized past pad_w
    expect(d, 0, DK_INVALID_ARGUMENT, "groups must be >= 1, got 0");
    d = ok, d.dilation_h = 0;
    expect(d, 1, DK_INVALID_ARGUMENT, "dilation_h must be >= 1, got 0");
    d = ok, d.dilation_w = -2;
    expect(d, 2, DK_INVALID_ARGUMENT, "dilation_w must be >= 1, got -2");
    d = ok, d.pad_h_end = -1;
    expect(d, 0, DK_INVALID_ARGUMENT, "pad_h_end must be >= 0, got -1");
    d = ok, d.pad_w = -1;
    expect(d, 0, DK_INVALID_ARGUMENT, "pad_w must be >= 0, got -1");
    d = ok, d.dilation_h = 3; // 3 * 2 + 1 = 7 > 6
    expect(d, 0, DK_INVALID_ARGUMENT, "the dilated kernel_h (7");
    d = ok, d.stride_w = 0;
    expect(d, 0, DK_INVALID_ARGUMENT, "stride_w must be >= 1");
    d = ok, d.activation = 7;
    expect(d, 0, DK_INVALID_ARGUMENT, "activation must be DK_ACTIVATION_NONE, RELU or GELU, got 7");
    d = ok, d.activation = DK_ACTIVATION_RELU;
    expect(d, 1, DK_INVALID_ARGUMENT, "activation must be DK_ACTIVATION_NONE for conv2d backward data");
    expect(d, 2, DK_INVALID_ARGUMENT, "activation must be DK_ACTIVATION_NONE for conv2d backward weights");
    d = ok, d.n = int64_t(1) << 40, d.c = int64_t(1) << 20;
    d.groups = 1;
    expect(d, 0, DK_INVALID_ARGUMENT, "overflows a 64-bit size");
    d = ok, d.dilation_h = int64_t(1) << 39, d.kernel_h = 1 << 20;
    expect(d, 0, DK_INVALID_ARGUMENT, "dilation");
    d = ok, d.c = 8, d.groups = 2; // w is [4, 4, 3, 3] = 144 floats: a 143-float buffer is too short
    dk_status s = dk_conv2d_forward(DK_BACKEND_NATIVE, &d, buf.data(), 64, buf.data() + 1024, 288, buf.data() + 2048, 143, nullptr, 0);
    CHECK(s == DK_INVALID_ARGUMENT && std::string(dk_last_error()).find("w needs 144 floats") != std::string::npos);
    CHECK(dk_conv2d_forward(DK_BACKEND_NATIVE, &d, buf.data(), 64, buf.data() + 1024, 288, buf.data() + 2048, 144, nullptr, 0) == DK_OK);
}

// The onednn convolution reuses its reordered weights while the weights are unchanged: changing
// them in place (same pointer, as an optimizer step does) must change the result, for the
// forward and the backward data pass.
TEST(conv2d_onednn_weight_cache_sees_changes) {
    if (dk_backend_check(DK_BACKEND_ONEDNN) != DK_OK) return;
    std::mt19937 rng(303);
    const dk_conv2d_desc d = dkt::parse_conv_shape("2x32x9x9:32x3x3:p1");
    CHECK(std::string(dk_conv2d_impl_name(DK_BACKEND_ONEDNN, &d)) == "onednn");
    ConvData c = make(d, rng);
    for (int step = 0; step < 4; ++step) {
        if (step == 2) c.w[c.wn - 1] += 0.5f; // only the last element: a cache comparing a prefix would miss it
        else if (step > 0) for (float &v : c.w) v *= 0.9f;
        CHECK_MSG(scaled_diff(forward(DK_BACKEND_ONEDNN, d, c), forward(DK_BACKEND_REF, d, c)) < 2e-5f, "forward step " + std::to_string(step));
        CHECK_MSG(scaled_diff(backward_data(DK_BACKEND_ONEDNN, d, c), backward_data(DK_BACKEND_REF, d, c)) < 2e-5f,
                  "backward data step " + std::to_string(step));
    }
}
