// The convolution microkernels: what the drivers (conv2d_direct.cpp, conv2d_depthwise.cpp) and the
// per-ISA kernel file (conv_kernels_avx512.cpp) share. Plain C types only: included by an ISA file
// (native/KERNELS.md).
//
// The "implicit GEMM over a flattened staged input" used by the direct kernels. The driver stages
// each input channel (zero padding, and for stride s the s x s phases of the padded image) into
// planes of pitch Wq; an output position (oh, ow) becomes the flat index p = oh * Wq + ow, and the
// tap (ky, kx) of output p reads staged element p + xoff[tap]. A convolution is then, per image
// and group, the GEMM
//     Y[o, p] = sum_{c, tap} W[o, c, tap] * X[c, p + xoff[tap]]
// whose B rows are shifted views of the staged planes (no im2col). The vector dimension is p:
// a tile holds M output channels x 16 V flat positions in zmm accumulators, each k step loads V
// vectors of the staged input and broadcasts M weights straight from the OIHW array (no weight
// reorder: rows are rs floats apart, channels cs, taps woff[tap]). Flat positions with ow >= OW
// are computed and dropped: the store compresses the valid lanes of a vector, which are
// consecutive outputs of the NCHW plane even across a row boundary.
#pragma once

#include <cstdint>

namespace dk::conv {

struct FwdTile {
    int64_t nc;          // channels (k blocks of ntaps steps) in this call
    int ntaps;           // taps per channel
    const int64_t *xoff; // per tap: offset into the staged input (floats)
    const int64_t *woff; // per tap: offset into the weights (floats), relative to a
    const float *a;      // weights: row i, channel c, tap t at a[i * rs + c * cs + woff[t]]
    int64_t rs, cs;
    const float *b;      // staged input at the strip's first position: b[c * chs + xoff[t] + lane]
    int64_t chs;
    float *c;            // output row i at c + i * ldc, at the strip's first valid output
    int64_t ldc;
    const uint16_t *masks; // V lane masks: which lanes of each vector are outputs
    int first;             // first k block: overwrite (and add bias) instead of accumulating
    int last;              // last k block: apply relu if asked
    const float *bias;     // per row, or null
    int relu;
};
// m_r rows (1 .. MR of the kernel).
using FwdTileFn = void (*)(const FwdTile &t, int m_r);

// Backward weights as dot products over flat positions: for MO output channels x NT taps of one
// input channel, acc[o][t] += dy[o][p] * x[p + xoff[t]] over 16-lane vectors, summed over
// segments (images), then reduced across lanes and added to out[o * ldo + t] (t < nt).
struct DotTile {
    int64_t nseg;          // segments (images) to sum over
    const float *dy;       // segment s, row o: dy + s * dy_seg + o * dy_rs, `len` floats (zero where invalid)
    int64_t dy_seg, dy_rs;
    const float *x;        // segment s: x + s * x_seg, read at + xoff[t] + p
    int64_t x_seg;
    int64_t len;           // positions per segment, a multiple of 16
    const int64_t *xoff;
    float *out;            // out[o * ldo + woff[t]] += sum
    int64_t ldo;
    const int64_t *woff;
};
// mo rows (1 .. 3), nt taps (1 .. 9).
using DotTileFn = void (*)(const DotTile &t, int mo, int nt);

// Depthwise (one input channel per output channel): one staged plane (phases and pitch as for the
// dense kernels) times the ntaps weights of one output channel, over `count` vectors of 16 flat
// positions, each stored compressed to its valid lanes (masks, dst: as the dense strips with V = 1).
struct DwPlane {
    const float *x;        // staged plane(s) of one channel
    const int64_t *xoff;   // per tap
    int ntaps;
    const float *w;        // ntaps weights, in tap order
    float *y;              // output plane
    const uint16_t *masks; // per vector
    const int64_t *dst;    // per vector: output index of its first valid lane
    int64_t count;
    float bias;
    int relu;
    int accumulate; // add to y instead of overwriting it (bias and relu then not applied)
};
using DwPlaneFn = void (*)(const DwPlane &d);

// Depthwise with multiplier 1 for a block of up to 16 channels at once, vectors across channels:
// the block's input planes transposed (16 x 16 in registers) into a zero-padded [hp][wp][16]
// buffer, 16 channels x 8 output pixels per step, each output row transposed back into the 16
// NCHW planes. For small planes, where per-plane work does not amortize.
struct DwBlock {
    const float *x;   // first channel's plane [h][w]; channel i at x + i * h * w
    int channels;     // 1 .. 16
    int64_t h, w, pt, pl, sh, sw, dh, dw, kh, kw, oh, ow;
    const float *wt;  // first channel's kh * kw weights; channel i at wt + i * kh * kw
    const float *bias; // first channel's bias, or null
    int relu;
    float *y;         // first channel's output plane [oh][ow]
    float *buf;       // scratch: hp * wp * 16 + (ow + 16) * 16 + kh * kw * 16 floats, 64-byte aligned
};
using DwBlockFn = void (*)(const DwBlock &d);

struct Kernels {
    const char *name;
    int mr[3], v[3];   // tile configurations: MR rows x 16 V positions
    FwdTileFn fwd[3];
    DotTileFn dot;
    DwPlaneFn dw;
    DwBlockFn dw16;
};

extern const Kernels conv_avx512;

} // namespace dk::conv
