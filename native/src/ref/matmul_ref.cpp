// Reference matmul: C = alpha * op(A) * op(B) + beta * C, accumulated in double.
// The truth every other implementation is tested against; threads over rows of C.
#include "core/matmul.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace dk {

namespace {

void matmul_ref_run(const MatmulArgs &x) {
    const dk_matmul_desc &d = x.d;
    const bool ta = d.trans_a, tb = d.trans_b;
#pragma omp parallel
    {
        std::vector<double> acc(static_cast<size_t>(d.n));
#pragma omp for schedule(static)
        for (int64_t i = 0; i < d.m; ++i) {
            std::fill(acc.begin(), acc.end(), 0.0);
            for (int64_t p = 0; p < d.k; ++p) {
                const double aip = x.a[op_index(ta, i, p, d.lda)];
                if (tb) {
                    const float *bcol = x.b + p; // op(B)(p, j) = B[j * ldb + p]
                    for (int64_t j = 0; j < d.n; ++j) acc[j] += aip * bcol[j * d.ldb];
                } else {
                    const float *brow = x.b + p * d.ldb;
                    for (int64_t j = 0; j < d.n; ++j) acc[j] += aip * brow[j];
                }
            }
            float *crow = x.c + i * d.ldc;
            for (int64_t j = 0; j < d.n; ++j) {
                const double v = d.alpha * acc[j];
                crow[j] = static_cast<float>(d.beta == 0.0f ? v : v + static_cast<double>(d.beta) * crow[j]);
            }
        }
    }
}

} // namespace

extern const MatmulImpl matmul_ref = {"ref", [](const dk_matmul_desc &) { return true; }, matmul_ref_run};

namespace {

// Batched with the fused epilogue: each product in double, then bias and activation on the float
// result (the activation in double, rounded once).
void matmul_batched_ref_run(const MatmulBatchedArgs &x) {
    const dk_matmul_batched_desc &d = x.d;
    const dk_matmul_desc &mm = d.mm;
    for (int64_t i = 0; i < d.batch; ++i) {
        float *c = x.c + i * d.stride_c;
        matmul_ref_run({mm, c, x.a + i * d.stride_a, x.b + i * d.stride_b});
        for (int64_t r = 0; r < mm.m; ++r)
            for (int64_t j = 0; j < mm.n; ++j) {
                double v = c[r * mm.ldc + j];
                if (x.bias) v += x.bias[j];
                if (d.activation == DK_ACTIVATION_RELU) v = v > 0 ? v : 0;
                if (d.activation == DK_ACTIVATION_GELU)
                    v = 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
                c[r * mm.ldc + j] = static_cast<float>(v);
            }
    }
}

} // namespace

extern const MatmulBatchedImpl matmul_batched_ref = {
    "ref", [](const dk_matmul_batched_desc &, bool) { return true; }, matmul_batched_ref_run};

} // namespace dk
