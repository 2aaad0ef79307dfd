// Reference matmul: C = alpha * op(A) * op(B) + beta * C, accumulated in double.
// The truth every other implementation is tested against; threads over rows of C.
#include "core/matmul.h"

#include <algorithm>
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

} // namespace dk
