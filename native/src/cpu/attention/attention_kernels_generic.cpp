// The portable attention kernels: plain loops over the 64 lanes of a tile, which the compiler
// vectorizes: for the x86-64 baseline here (kernels_generic), and for AVX2 + FMA when
// attention_kernels_avx2.cpp includes this file with DK_ATTENTION_KERNELS = kernels_avx2. No
// standard header: only builtins, so no inline function is shared between the two ISA builds.
#include "attention_kernels.h"

#ifndef DK_ATTENTION_KERNELS
#define DK_ATTENTION_KERNELS kernels_generic
#endif

namespace dk::attention {

namespace {

void scores(float *s, const float *a, int64_t lda, int rows, const float *bt, int depth, int64_t key0,
            int64_t mask_q0, float *mx) {
    for (int j = 0; j < rows; ++j) {
        float *sj = s + j * lanes;
        for (int c = 0; c < lanes; ++c) sj[c] = 0.0f;
        for (int x = 0; x < depth; ++x) {
            const float ajx = a[j * lda + x];
            const float *b = bt + x * lanes;
            for (int c = 0; c < lanes; ++c) sj[c] += ajx * b[c];
        }
        if (mask_q0 >= 0)
            for (int c = 0; c < lanes; ++c)
                if (key0 + j > mask_q0 + c) sj[c] = -__builtin_inff();
        if (mx)
            for (int c = 0; c < lanes; ++c) mx[c] = mx[c] > sj[c] ? mx[c] : sj[c];
    }
}

void exp2_rows(float *p, int rows, const float *m, float *sum) {
    for (int j = 0; j < rows; ++j) {
        float *pj = p + j * lanes;
        for (int c = 0; c < lanes; ++c) pj[c] = __builtin_exp2f(pj[c] - m[c]);
        if (sum)
            for (int c = 0; c < lanes; ++c) sum[c] += pj[c];
    }
}

void accum_t(float *ot, int depth, const float *a, int64_t lda, int rows, const float *p, const float *scale) {
    for (int x = 0; x < depth; ++x) {
        float *o = ot + x * lanes;
        if (scale)
            for (int c = 0; c < lanes; ++c) o[c] *= scale[c];
        for (int j = 0; j < rows; ++j) {
            const float ajx = a[j * lda + x];
            const float *pj = p + j * lanes;
            for (int c = 0; c < lanes; ++c) o[c] += ajx * pj[c];
        }
    }
}

void accum_rows(float *out, int64_t ldo, int rows, const float *p, int cols, const float *b, int64_t ldb,
                int depth) {
    for (int j = 0; j < rows; ++j) {
        float *o = out + j * ldo;
        for (int c = 0; c < cols; ++c) {
            const float pjc = p[j * lanes + c];
            const float *bc = b + c * ldb;
            for (int x = 0; x < depth; ++x) o[x] += pjc * bc[x];
        }
    }
}

void softmax_grad(float *dp, const float *p, int rows, const float *dvec) {
    for (int j = 0; j < rows; ++j)
        for (int c = 0; c < lanes; ++c) dp[j * lanes + c] = p[j * lanes + c] * (dp[j * lanes + c] - dvec[c]);
}

void transpose(float *dst, int64_t ldd, const float *src, int64_t lds, int rows, int cols, const float *row_scale,
               float scale) {
    for (int i = 0; i < rows; ++i) {
        const float si = scale * (row_scale ? row_scale[i] : 1.0f);
        for (int j = 0; j < cols; ++j) dst[i * ldd + j] = src[j * lds + i] * si;
    }
}

} // namespace

extern const Kernels DK_ATTENTION_KERNELS = {scores, exp2_rows, accum_t, accum_rows, softmax_grad, transpose};

} // namespace dk::attention
