// matmul: the shape function, the implementation interface, and the registry's lists.
#pragma once

#include "deepkern.h"

#include <cstdint>
#include <vector>

namespace dk {

// Buffers of a validated call. Shapes are in the descriptor; every implementation may assume
// what check_matmul established: m, n, k >= 1, alpha != 0, the leading dimensions and buffer
// lengths cover every element it reads or writes, and C does not overlap A or B.
struct MatmulArgs {
    const dk_matmul_desc &d;
    float *c;
    const float *a;
    const float *b;
};

struct MatmulImpl {
    const char *name;
    bool (*supports)(const dk_matmul_desc &d);
    void (*run)(const MatmulArgs &args); // throws dk::Error on failure
};

// The one shape function: throws dk::Error naming the argument that is wrong.
void check_matmul(const dk_matmul_desc *d, const float *c, int64_t c_len, const float *a,
                  int64_t a_len, const float *b, int64_t b_len);

// The shape functions of B packed once (dk_sgemm_pack_b) and of a product with it
// (dk_matmul_packed_b_fused: desc's trans_b and ldb are not used, k and n must match the packed
// matrix; bias null or n floats not overlapping C; activation a dk_activation).
void check_pack_b(int64_t k, int64_t n, int32_t trans_b, const float *b, int64_t ldb, int64_t b_len);
void check_matmul_packed_b(const dk_matmul_desc *d, const float *c, int64_t c_len, const float *a, int64_t a_len,
                           int64_t packed_k, int64_t packed_n, const float *bias = nullptr, int64_t bias_len = 0,
                           int32_t activation = DK_ACTIVATION_NONE);

// B reordered once into oneDNN's preferred weight layout (dk_matmul_pack_b with DK_BACKEND_ONEDNN;
// native/src/onednn/matmul_packed_onednn.cpp). Only built with oneDNN.
struct OnednnPackedB;
OnednnPackedB *onednn_pack_b(int64_t m, int64_t k, int64_t n, bool trans_b, const float *b, int64_t ldb);
// C = act(alpha * op(A) * B + beta * C + bias) for a validated descriptor with m, n, k >= 1, alpha != 0.
void onednn_matmul_packed_b(OnednnPackedB &p, const dk_matmul_desc &d, float *c, const float *a, const float *bias,
                            int32_t activation);
void onednn_packed_b_free(OnednnPackedB *p);

// C = beta * C for a validated descriptor whose k == 0 or alpha == 0 (beta == 0 writes zeros
// without reading C).
void scale_c(const dk_matmul_desc &d, float *c);

// The ordered implementation list for a backend; the first that supports a descriptor runs.
// Throws DK_UNAVAILABLE for a backend that cannot run here.
const std::vector<const MatmulImpl *> &matmul_impls(dk_backend backend);

// ---- batched matmul with a fused epilogue (dk_matmul_batched) ----

// Buffers of a validated dk_matmul_batched call: batch >= 1, m, n, k >= 1, alpha != 0 (the
// shape function and the entry point handle the rest); bias is null or holds n floats.
struct MatmulBatchedArgs {
    const dk_matmul_batched_desc &d;
    float *c;
    const float *a;
    const float *b;
    const float *bias;
};

struct MatmulBatchedImpl {
    const char *name;
    bool (*supports)(const dk_matmul_batched_desc &d, bool has_bias);
    void (*run)(const MatmulBatchedArgs &args);
};

void check_matmul_batched(const dk_matmul_batched_desc *d, const float *c, int64_t c_len, const float *a,
                          int64_t a_len, const float *b, int64_t b_len, const float *bias, int64_t bias_len);

const std::vector<const MatmulBatchedImpl *> &matmul_batched_impls(dk_backend backend);

// act(x) in float, as every implementation applies it (the tanh form of GELU, see deepkern.h).
float activate(int32_t activation, float x);
// rows x cols of C (leading dimension ldc): C = act(C + bias), bias null or cols floats.
void bias_activation(float *c, int64_t ldc, int64_t rows, int64_t cols, const float *bias, int32_t activation);

// The same with bias[i] added to row i (null: none).
void bias_rows_activation(float *c, int64_t ldc, int64_t rows, int64_t cols, const float *bias, int32_t activation);

// The native GEMM called from another native kernel (conv2d 1x1) on the caller's ThreadLease, for
// a descriptor the caller has validated: C = act(alpha op(A) op(B) + beta C + row_bias[i]), the bias
// and activation applied to each tile while it is in L1 (row_bias null: none). threads: at most
// the lease's count; 1 from inside a parallel region.
void native_gemm_rows_bias(const dk_matmul_desc &d, float *c, const float *a, const float *b, const float *row_bias,
                           int32_t activation, int threads);

// Element (i, j) of op(X) for a row-major X with leading dimension ld.
inline int64_t op_index(bool trans, int64_t i, int64_t j, int64_t ld) {
    return trans ? j * ld + i : i * ld + j;
}

} // namespace dk
