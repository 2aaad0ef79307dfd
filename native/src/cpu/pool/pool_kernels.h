// The per-plane kernels of the CPU pooling (pool_cpu.cpp), one set per ISA: the same source
// (pool_kernels.inc) compiled with each ISA's flags, vectorized across the output width.
//
// Plain declarations only: included from ISA-specific files (see native/KERNELS.md).
#pragma once

#include <stdint.h>

namespace dk::pool {

// One NCHW plane's geometry (deepkern.h's dk_pool2d_desc; only the begin padding places windows).
struct Geometry {
    int64_t h, w, oh, ow, kh, kw, sh, sw, ph, pw;
    int32_t count_include_pad;
};

struct Kernels {
    // y [oh, ow] = the max of each window of x [h, w]; idx (may be null) = its first maximum's
    // position iy * w + ix in row-major window order.
    void (*max_forward)(const Geometry *g, const float *x, float *y, int32_t *idx);
    // y [oh, ow] = the average of each window (divisor: elements inside, or kh * kw).
    void (*avg_forward)(const Geometry *g, const float *x, float *y);
    // dx [h, w] (overwritten) = the average's gradient from dy [oh, ow].
    void (*avg_backward)(const Geometry *g, const float *dy, float *dx);
};

extern const Kernels kernels_generic;
extern const Kernels kernels_avx2;
extern const Kernels kernels_avx512;

} // namespace dk::pool
