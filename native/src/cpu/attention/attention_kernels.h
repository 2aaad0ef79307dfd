// The inner kernels of the fused CPU attention (attention_cpu.cpp), one set per ISA. They work
// on a tile of `lanes` = 64 queries held "transposed": a lane buffer x[j][c] has one row of 64
// floats per key (or per head_dim index) j and one column per query c of the tile, so the
// online softmax, which runs over keys, is plain vertical SIMD with no horizontal reduction.
//
// Plain declarations only: included from ISA-specific files (see native/KERNELS.md).
#pragma once

#include <stdint.h>

namespace dk::attention {

constexpr int lanes = 64;     // queries per tile: 4 zmm
constexpr int key_block = 64; // keys per block of the online softmax

struct Kernels {
    // s[j][c] = sum_{x < depth} a[j * lda + x] * bt[x][c] for j < rows (<= key_block), all 64 c.
    // When mask_q0 >= 0 (causal), s[j][c] = -inf where key0 + j > mask_q0 + c. When mx is not
    // null, mx[c] = max(mx[c], max_j s[j][c]).
    void (*scores)(float *s, const float *a, int64_t lda, int rows, const float *bt, int depth, int64_t key0,
                   int64_t mask_q0, float *mx);
    // p[j][c] = 2^(p[j][c] - m[c]) for j < rows (2^-inf = 0); when sum is not null,
    // sum[c] += sum_j p[j][c].
    void (*exp2_rows)(float *p, int rows, const float *m, float *sum);
    // ot[x][c] = (scale ? scale[c] : 1) * ot[x][c] + sum_{j < rows} a[j * lda + x] * p[j][c], x < depth.
    void (*accum_t)(float *ot, int depth, const float *a, int64_t lda, int rows, const float *p, const float *scale);
    // out[j * ldo + x] += sum_{c < cols} p[j][c] * b[c * ldb + x], for j < rows, x < depth.
    void (*accum_rows)(float *out, int64_t ldo, int rows, const float *p, int cols, const float *b, int64_t ldb,
                       int depth);
    // dp[j][c] = p[j][c] * (dp[j][c] - dvec[c]) for j < rows: the softmax backward.
    void (*softmax_grad)(float *dp, const float *p, int rows, const float *dvec);
    // dst[i * ldd + j] = src[j * lds + i] * scale * (row_scale ? row_scale[i] : 1), i < rows,
    // j < cols: packing a tile of queries (lanes) and writing results back from one.
    void (*transpose)(float *dst, int64_t ldd, const float *src, int64_t lds, int rows, int cols,
                      const float *row_scale, float scale);
};

extern const Kernels kernels_generic;
extern const Kernels kernels_avx2;
extern const Kernels kernels_avx512;

} // namespace dk::attention
