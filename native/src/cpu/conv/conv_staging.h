// Staging for the direct convolution kernels (conv2d_direct.cpp, conv2d_depthwise.cpp): a source
// channel copied into zero-padded planes, split into the s x s phases of a stride s, so that every
// tap of a (strided, dilated) convolution reads its input at one flat offset from the output
// position (see conv_kernels.h); the taps' offsets; and the output strips with their lane masks.
#pragma once

#include <cstdint>
#include <vector>

namespace dk::conv {

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The calling thread's OpenMP team size (the ThreadLease's count).
int max_threads();

// Staged planes: for each used phase (ry, rx) of stride (sy, sx), plane[i][j] = src[i * sy + ry -
// top][j * sx + rx - left] (zero outside src), hq x wq, each plane padded with zeros to `plane`
// floats (at least a row and a vector past the last row, so that every read of a tile, including
// the lanes it drops, stays inside the channel's planes).
struct Staging {
    int64_t sy, sx, top, left; // stride and the padding before (may be negative: cropping)
    int64_t hq, wq, plane;     // phase plane size and stride
    int nph;                   // used phases
    int phase_of[64];          // (ry * sx + rx) -> index among used phases, or -1
    int64_t chs() const { return nph * plane; }
};

// Flat taps of a kernel (kh x kw, dilation dh x dw) over a staging.
struct Taps {
    std::vector<int64_t> xoff, woff; // woff: the tap's index in the OIHW kernel (flipped: reversed)
    int64_t max_inphase = 0;         // the largest in-plane offset
};

// hp x wp: the padded source extent; sy * sx <= 64.
Staging make_staging(int64_t sy, int64_t sx, int64_t top, int64_t left, int64_t hp, int64_t wp, int64_t kh,
                     int64_t kw, int64_t dh, int64_t dw);
Taps make_taps(const Staging &s, int64_t kh, int64_t kw, int64_t dh, int64_t dw, bool flip);
// One source channel (h x w) into its chs() staged floats.
void stage_channel(const Staging &s, const float *src, int64_t h, int64_t w, float *dst);
// count consecutive h x w source channels into count * chs() staged floats (threads inside).
void stage_all(const Staging &s, const float *src, int64_t count, int64_t h, int64_t w, float *dst);

// Flat positions p = i * wq + j of an oh x ow output grid, in strips of 16 v lanes.
struct Strips {
    int v;                       // vectors per strip
    int64_t count;
    std::vector<uint16_t> masks; // count x v: the lanes that are outputs (j < ow)
    std::vector<int64_t> dst;    // output index (i * ow + j) of each strip's first valid lane
};
Strips make_strips(int64_t oh, int64_t ow, int64_t wq, int v);

} // namespace dk::conv
