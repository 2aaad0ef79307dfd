// The BLIS-style fp32 GEMM: what the driver (sgemm.cpp) and the per-ISA microkernel files share.
//
// Included by ISA files (sgemm_avx512_12x32.cpp, sgemm_avx2_6x16.cpp): plain C types and
// <cstdint> only, no inline function that another file could instantiate (native/KERNELS.md).
//
// Orientation. C is row-major, so the vector dimension of a microkernel is n: a microkernel keeps
// an MR x NR tile of C in registers, loads NR consecutive floats of a packed B row per step and
// broadcasts MR floats of a packed A column. (This is BLIS's column-major picture transposed:
// our B plays BLIS's A and our A plays BLIS's B.)
//
// Packed formats (zero-padded to whole panels, so microkernels never need bounds on loads):
// - an A micro-panel holds MR rows of op(A) for kc steps: a[p * MR + i] = op(A)(i0 + i, p0 + p);
// - a B micro-panel holds NR columns of op(B) for kc steps: b[p * NR + j] = op(B)(p0 + p, j0 + j).
#pragma once

#include <cstdint>

namespace dk::gemm {

// What a microkernel does with its accumulated tile T (m_r x n_r of it is real):
//   C = alpha * T + beta * C, where beta == 0 overwrites C without reading it.
struct Epilogue {
    float alpha, beta;
};

// C[0:m_r, 0:n_r] (leading dimension ldc) from kc steps of a packed A micro-panel and a packed B
// micro-panel; 1 <= m_r <= MR, 1 <= n_r <= NR, kc >= 1.
using Microkernel = void (*)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int m_r, int n_r,
                             const Epilogue &e);

// The same tile computed straight from unpacked operands, for sizes where packing costs more than
// it saves: op(A)(i, p) = a[i * rs_a + p * cs_a], op(B)(p, j) = b[p * ldb + j] (unit column
// stride). Reads exactly the m_r x kc and kc x n_r elements it is given, nothing beyond.
using DirectKernel = void (*)(int64_t kc, const float *a, int64_t rs_a, int64_t cs_a, const float *b, int64_t ldb,
                              float *c, int64_t ldc, int m_r, int n_r, const Epilogue &e);

// The tile of the first A micro-panel that meets a B micro-panel, computed while packing that
// panel: reads the kc x NR panel of a row-major op(B) at b (leading dimension ldb) once, stores
// its packed copy to bp (the packing pass folded into the multiply, where the loads are hidden
// behind the FMAs) and computes C as a DirectKernel does, A given by (a, rs_a, cs_a). Whole
// panels only (NR columns).
using PackingKernel = void (*)(int64_t kc, const float *a, int64_t rs_a, int64_t cs_a, const float *b, int64_t ldb,
                               float *bp, float *c, int64_t ldc, int m_r, const Epilogue &e);

// The copy at the heart of packing a row-major op(B): `panels` whole micro-panels of NR columns
// for kc rows, dst[q * kc * NR + p * NR + j] = src[p * ld + q * NR + j].
using CopyPanels = void (*)(const float *src, int64_t ld, int64_t kc, int64_t panels, float *dst);

// One ISA's kernels with the block sizes they were tuned for (see sgemm.cpp for the reasoning).
struct Kernels {
    const char *name;   // e.g. "sgemm_avx512_12x32"
    int mr, nr;         // register tile
    int64_t kc, mc, nc; // cache blocks: k, rows of op(A) per packed A block, columns per packed B block
    Microkernel packed;
    DirectKernel direct; // null when the ISA has no unpacked path
    CopyPanels copy_b = nullptr;     // null: the driver's SSE copy
    PackingKernel packing = nullptr; // null: B is packed in a separate pass
};

extern const Kernels sgemm_avx512_12x32;
extern const Kernels sgemm_avx2_6x16;
extern const Kernels sgemm_generic_4x16;

} // namespace dk::gemm
