// Staging, taps and strips of the direct convolution kernels (conv_staging.h).
#include "cpu/conv/conv_staging.h"

#include <algorithm>
#include <cstring>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace dk::conv {

int max_threads() {
#ifdef _OPENMP
    return omp_get_max_threads(); // the ThreadLease's count
#else
    return 1;
#endif
}

Staging make_staging(int64_t sy, int64_t sx, int64_t top, int64_t left, int64_t hp, int64_t wp, int64_t kh,
                     int64_t kw, int64_t dh, int64_t dw) {
    Staging s{};
    s.sy = sy, s.sx = sx, s.top = top, s.left = left;
    s.hq = ceil_div(hp, sy), s.wq = ceil_div(wp, sx);
    s.plane = (s.hq * s.wq + s.wq + 16 + 15) / 16 * 16;
    for (int i = 0; i < 64; ++i) s.phase_of[i] = -1;
    for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j) {
            const int q = static_cast<int>((i * dh) % sy * sx + (j * dw) % sx);
            if (s.phase_of[q] < 0) s.phase_of[q] = s.nph++;
        }
    return s;
}

Taps make_taps(const Staging &s, int64_t kh, int64_t kw, int64_t dh, int64_t dw, bool flip) {
    Taps t;
    const int64_t taps = kh * kw;
    for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j) {
            const int64_t ky = i * dh, kx = j * dw;
            const int64_t inphase = ky / s.sy * s.wq + kx / s.sx;
            t.xoff.push_back(s.phase_of[ky % s.sy * s.sx + kx % s.sx] * s.plane + inphase);
            t.max_inphase = std::max(t.max_inphase, inphase);
            const int64_t k = i * kw + j;
            t.woff.push_back(flip ? taps - 1 - k : k);
        }
    return t;
}

// One source channel (h x w) into its staged planes.
void stage_channel(const Staging &s, const float *src, int64_t h, int64_t w, float *dst) {
    for (int64_t ry = 0; ry < s.sy; ++ry)
        for (int64_t rx = 0; rx < s.sx; ++rx) {
            const int q = s.phase_of[ry * s.sx + rx];
            if (q < 0) continue;
            float *plane = dst + q * s.plane;
            // columns j with 0 <= j * sx + rx - left < w
            int64_t j0 = 0;
            while (j0 < s.wq && j0 * s.sx + rx - s.left < 0) ++j0;
            int64_t j1 = s.wq;
            while (j1 > j0 && (j1 - 1) * s.sx + rx - s.left >= w) --j1;
            for (int64_t i = 0; i < s.hq; ++i) {
                float *row = plane + i * s.wq;
                const int64_t y = i * s.sy + ry - s.top;
                if (y < 0 || y >= h || j1 <= j0) {
                    for (int64_t j = 0; j < s.wq; ++j) row[j] = 0.0f;
                    continue;
                }
                const float *in = src + y * w + (j0 * s.sx + rx - s.left);
                for (int64_t j = 0; j < j0; ++j) row[j] = 0.0f;
                if (s.sx == 1 && j1 - j0 >= 64) std::memcpy(row + j0, in, sizeof(float) * (j1 - j0));
                else if (s.sx == 1)
                    for (int64_t j = j0; j < j1; ++j) row[j] = in[j - j0]; // short rows: no memcpy call
                else
                    for (int64_t j = j0; j < j1; ++j) row[j] = in[(j - j0) * s.sx];
                for (int64_t j = j1; j < s.wq; ++j) row[j] = 0.0f;
            }
            std::memset(plane + s.hq * s.wq, 0, sizeof(float) * (s.plane - s.hq * s.wq));
        }
}

// planes [count] of h x w, consecutive, into count * chs staged floats.
void stage_all(const Staging &s, const float *src, int64_t count, int64_t h, int64_t w, float *dst) {
#pragma omp parallel for schedule(static) if (count * h * w >= (1 << 15))
    for (int64_t i = 0; i < count; ++i) stage_channel(s, src + i * h * w, h, w, dst + i * s.chs());
}

// ---- the implicit GEMM (forward and stride-1 backward data) --------------------------------------


// Flat positions of an oh x ow output grid with pitch wq, in strips of 16 v.
Strips make_strips(int64_t oh, int64_t ow, int64_t wq, int v) {
    Strips s;
    s.v = v;
    const int64_t positions = (oh - 1) * wq + ow, width = 16 * v;
    s.count = ceil_div(positions, width);
    s.masks.assign(static_cast<size_t>(s.count * v), 0);
    s.dst.assign(static_cast<size_t>(s.count), 0);
    // walk the valid positions row by row (no division per lane)
    int64_t last = -1;
    for (int64_t i = 0; i < oh; ++i) {
        int64_t k = i * wq / width, lane = i * wq % width;
        for (int64_t j = 0; j < ow; ++j) {
            if (k != last) s.dst[k] = i * ow + j, last = k;
            s.masks[k * v + (lane >> 4)] |= static_cast<uint16_t>(1u << (lane & 15));
            if (++lane == width) lane = 0, ++k;
        }
    }
    return s;
}

} // namespace dk::conv
