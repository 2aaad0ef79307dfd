// sgemm_generic_4x16: the portable microkernel, plain C++ compiled for the x86-64 baseline (the
// compiler vectorizes the j loops with SSE2). Used when the CPU has neither AVX2 + FMA nor AVX-512,
// or when DK_ISA=generic forces it. Packed operands only.
#include "gemm.h"

namespace dk::gemm {

namespace {

constexpr int MR = 4, NR = 16;

void packed_4x16(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int m_r, int n_r,
                 const Epilogue &e) {
    float acc[MR][NR] = {};
    for (int64_t p = 0; p < kc; ++p) {
        for (int i = 0; i < MR; ++i) {
            const float ai = a[i];
            for (int j = 0; j < NR; ++j) acc[i][j] += ai * b[j];
        }
        a += MR;
        b += NR;
    }
    for (int i = 0; i < m_r; ++i)
        for (int j = 0; j < n_r; ++j) {
            float *cij = c + i * ldc + j;
            *cij = e.beta == 0.0f ? e.alpha * acc[i][j] : e.alpha * acc[i][j] + e.beta * *cij;
        }
}

} // namespace

// Block sizes: see the comment on blocking in sgemm.cpp.
extern const Kernels sgemm_generic_4x16 = {"sgemm_generic_4x16", MR, NR, 256, 1024, 256, packed_4x16, nullptr};

} // namespace dk::gemm
