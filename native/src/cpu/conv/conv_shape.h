// The convolution as the CPU kernels see it: every field of dk_conv2d_desc spelled out (padding on
// each side, dilation, groups, fused activation) plus the output size, so the kernels are written
// once for the general case and the descriptor's defaults are filled in here only.
#pragma once

#include "core/train_ops.h"

#include <cstdint>

namespace dk::conv {

struct Shape {
    int64_t n, c, h, w, oc;
    int64_t kh, kw, sh, sw;
    int64_t pt, pl, pb, pr; // padding top, left, bottom, right
    int64_t dh, dw;         // dilation
    int64_t groups;
    int32_t act;            // dk_activation, forward only
    int64_t oh, ow;
    int64_t cg() const { return c / groups; }
    int64_t ocg() const { return oc / groups; }
    int64_t taps() const { return kh * kw; }
};

inline Shape shape_of(const dk_conv2d_desc &d, int64_t oh, int64_t ow) {
    Shape s{};
    s.n = d.n, s.c = d.c, s.h = d.h, s.w = d.w, s.oc = d.oc;
    s.kh = d.kernel_h, s.kw = d.kernel_w, s.sh = d.stride_h, s.sw = d.stride_w;
    s.pt = d.pad_h, s.pl = d.pad_w, s.pb = d.pad_h_end, s.pr = d.pad_w_end;
    s.dh = d.dilation_h, s.dw = d.dilation_w, s.groups = d.groups, s.act = d.activation;
    s.oh = oh, s.ow = ow;
    return s;
}

inline Shape shape_of(const Conv2dArgs &a) { return shape_of(a.d, a.oh, a.ow); }

} // namespace dk::conv
