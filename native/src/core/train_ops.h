// The training ops of deepkern.h (issue 6): for each, the validated call an implementation
// receives (XArgs), the implementation interface, the shape function and the registry's list.
//
// Every shape function (train_shape.cpp) runs before any implementation and throws dk::Error
// naming the argument: sizes >= 0 and overflow-free, each buffer long enough for its shape,
// required pointers non-null, outputs not overlapping inputs (except where a function allows
// in-place), integer-valued inputs (labels, indices) in range. Implementations may assume all of
// it and that the call has at least one element to compute (degenerate calls return early in
// api_train.cpp).
#pragma once

#include "deepkern.h"
#include "dropout_draw.h"

#include <cstdint>
#include <vector>

namespace dk {

// One implementation of an op: the first in its registry list whose supports() is true runs.
template <class Desc, class Args>
struct OpImpl {
    const char *name;
    bool (*supports)(const Desc &d);
    void (*run)(const Args &args); // throws dk::Error on failure
};

// ---- nd: binary, reduce_sum, copy ----
struct BinaryArgs {
    dk_binary_op op;
    const dk_nd_desc &d;
    float *out;
    const float *a, *b;
};
struct ReduceArgs {
    const dk_nd_desc &d;
    float alpha, beta;
    float *out;
    const float *a;
};
struct CopyArgs {
    const dk_nd_desc &d;
    float *out;
    const float *a;
};
using BinaryImpl = OpImpl<dk_nd_desc, BinaryArgs>;
using ReduceImpl = OpImpl<dk_nd_desc, ReduceArgs>;
using CopyImpl = OpImpl<dk_nd_desc, CopyArgs>;
void check_binary(dk_binary_op op, const dk_nd_desc *d, const float *out, int64_t out_len, const float *a,
                  int64_t a_len, const float *b, int64_t b_len);
void check_reduce(const dk_nd_desc *d, float alpha, float beta, const float *out, int64_t out_len, const float *a,
                  int64_t a_len);
void check_copy(const dk_nd_desc *d, const float *out, int64_t out_len, const float *a, int64_t a_len);
inline int64_t nd_numel(const dk_nd_desc &d) {
    int64_t n = 1;
    for (int i = 0; i < d.rank; ++i) n *= d.shape[i];
    return n;
}

// ---- eltwise ----
struct EltwiseArgs {
    const dk_eltwise_desc &d;
    float *y;        // forward: y; backward: dx
    const float *x;  // forward: x; backward: dy
    const float *x2; // backward: the forward input x; forward: null
};
using EltwiseImpl = OpImpl<dk_eltwise_desc, EltwiseArgs>;
void check_eltwise(const dk_eltwise_desc *d, bool backward, const float *y, int64_t y_len, const float *x,
                   int64_t x_len, const float *x2, int64_t x2_len);

// ---- softmax, cross-entropy ----
struct SoftmaxArgs {
    const dk_softmax_desc &d;
    float *y;        // forward: y; backward: dx
    const float *x;  // forward: x; backward: dy
    const float *y2; // backward: the forward output y
};
struct XentArgs {
    const dk_xent_desc &d;
    float dloss;          // backward only
    float *loss;          // forward only
    float *out;           // forward: probs; backward: dlogits
    const float *in;      // forward: logits; backward: probs
    const float *labels;
};
using SoftmaxImpl = OpImpl<dk_softmax_desc, SoftmaxArgs>;
using XentImpl = OpImpl<dk_xent_desc, XentArgs>;
void check_softmax(const dk_softmax_desc *d, bool backward, const float *y, int64_t y_len, const float *x,
                   int64_t x_len, const float *y2, int64_t y2_len);
void check_xent(dk_backend backend, const dk_xent_desc *d, bool backward, const float *loss, int64_t loss_len, const float *out,
                int64_t out_len, const float *in, int64_t in_len, const float *labels, int64_t labels_len);

// ---- batch norm, layer norm ----
struct NormArgs {
    // batch norm: n, c, spatial from dk_batchnorm_desc; layer norm: rows = n * 1, features = cols
    float *y, *save_mean, *save_invstd, *running_mean, *running_var; // forward
    float *dx, *dgamma, *dbeta;                                       // backward
    const float *dy, *x, *gamma, *beta, *mean, *invstd;
};
struct BatchnormArgs {
    const dk_batchnorm_desc &d;
    NormArgs p;
};
struct LayernormArgs {
    const dk_layernorm_desc &d;
    NormArgs p;
};
using BatchnormImpl = OpImpl<dk_batchnorm_desc, BatchnormArgs>;
using LayernormImpl = OpImpl<dk_layernorm_desc, LayernormArgs>;
void check_batchnorm_forward(const dk_batchnorm_desc *d, const float *y, int64_t y_len, const float *save_mean,
                             int64_t save_mean_len, const float *save_invstd, int64_t save_invstd_len,
                             const float *running_mean, int64_t running_mean_len, const float *running_var,
                             int64_t running_var_len, const float *x, int64_t x_len, const float *gamma,
                             int64_t gamma_len, const float *beta, int64_t beta_len);
void check_batchnorm_backward(const dk_batchnorm_desc *d, const float *dx, int64_t dx_len, const float *dgamma,
                              int64_t dgamma_len, const float *dbeta, int64_t dbeta_len, const float *dy,
                              int64_t dy_len, const float *x, int64_t x_len, const float *gamma, int64_t gamma_len,
                              const float *mean, int64_t mean_len, const float *invstd, int64_t invstd_len);
void check_layernorm_forward(const dk_layernorm_desc *d, const float *y, int64_t y_len, const float *save_mean,
                             int64_t save_mean_len, const float *save_invstd, int64_t save_invstd_len,
                             const float *x, int64_t x_len, const float *gamma, int64_t gamma_len,
                             const float *beta, int64_t beta_len);
void check_layernorm_backward(const dk_layernorm_desc *d, const float *dx, int64_t dx_len, const float *dgamma,
                              int64_t dgamma_len, const float *dbeta, int64_t dbeta_len, const float *dy,
                              int64_t dy_len, const float *x, int64_t x_len, const float *gamma, int64_t gamma_len,
                              const float *mean, int64_t mean_len, const float *invstd, int64_t invstd_len);

// ---- pooling, convolution ----
struct Pool2dArgs {
    const dk_pool2d_desc &d;
    int64_t oh, ow;
    float *y;       // forward: y; backward: dx
    const float *x; // forward: x; backward: dy
    const float *x2; // backward: the forward input x (null when indices_in is given)
    int32_t *indices_out = nullptr;       // max forward: also write the argmax (iy * w + ix) of each output
    const int32_t *indices_in = nullptr;  // max backward: scatter dy to these (validated in [0, h * w))
};
// conv2d: the descriptor is validated by check_conv2d (groups divide c and oc, dilation >= 1,
// activation NONE for the backward passes, oh and ow >= 1); the entry point returns before an
// implementation runs when n * h * w == 0 (except backward weights, which then writes zeros).
struct Conv2dArgs {
    dk_backend backend; // for implementations that call the backend's matmul
    const dk_conv2d_desc &d;
    int64_t oh, ow;     // conv_out_size of h and w
    float *out;        // forward: y; backward data: dx; backward weights: dw
    float *out_bias;   // backward weights: dbias (may be null)
    const float *in;   // forward: x; backward data: dy; backward weights: dy
    const float *in2;  // forward: w; backward data: w; backward weights: x
    const float *bias; // forward: bias (may be null)
};
using Pool2dImpl = OpImpl<dk_pool2d_desc, Pool2dArgs>;
struct Conv2dImpl {
    const char *name;
    bool (*supports)(const dk_conv2d_desc &d);
    void (*forward)(const Conv2dArgs &args);
    void (*backward_data)(const Conv2dArgs &args);
    void (*backward_weights)(const Conv2dArgs &args);
};
// Throws unless the output size is >= 1; returns it. `what` names the op in messages.
// The pooled size along one dimension (deepkern.h's formula); throws naming the field.
int64_t pool_out_size(const char *dim, int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t pad_end);
inline int64_t pool_out_h(const dk_pool2d_desc &d) {
    return pool_out_size("h", d.h, d.kernel_h, d.stride_h, d.pad_h, d.pad_h_end);
}
inline int64_t pool_out_w(const dk_pool2d_desc &d) {
    return pool_out_size("w", d.w, d.kernel_w, d.stride_w, d.pad_w, d.pad_w_end);
}
void check_pool2d_desc(const dk_pool2d_desc *d);
void check_pool2d(const dk_pool2d_desc *d, bool backward, const float *y, int64_t y_len, const float *x,
                  int64_t x_len, const float *x2, int64_t x2_len);
// The argmax variants: forward writes y and indices from x; backward writes dx from dy and indices
// (each checked to be in [0, h * w)).
void check_max_pool2d_indices(const dk_pool2d_desc *d, bool backward, const float *out, int64_t out_len,
                              const float *in, int64_t in_len, const int32_t *indices, int64_t indices_len);
// The conv2d output size along one dimension (deepkern.h's formula); throws naming the field
// (kernel_h, stride_h, dilation_h, pad_h, pad_h_end) unless it is >= 1. dim is "h" or "w".
int64_t conv_out_size(const char *dim, int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t pad_end,
                      int64_t dilation);
inline int64_t conv_out_h(const dk_conv2d_desc &d) {
    return conv_out_size("h", d.h, d.kernel_h, d.stride_h, d.pad_h, d.pad_h_end, d.dilation_h);
}
inline int64_t conv_out_w(const dk_conv2d_desc &d) {
    return conv_out_size("w", d.w, d.kernel_w, d.stride_w, d.pad_w, d.pad_w_end, d.dilation_w);
}
// which: 0 forward, 1 backward data, 2 backward weights (argument names follow deepkern.h).
// check_conv2d_desc validates the descriptor alone (every field, sizes without overflow);
// check_conv2d also the buffers.
void check_conv2d_desc(const dk_conv2d_desc *d, int which);
void check_conv2d(const dk_conv2d_desc *d, int which, const float *out, int64_t out_len, const float *out_bias,
                  int64_t out_bias_len, const float *in, int64_t in_len, const float *in2, int64_t in2_len,
                  const float *bias, int64_t bias_len);

// ---- embedding, dropout, optimizer ----
struct EmbeddingArgs {
    const dk_embedding_desc &d;
    float *out;          // forward: y; backward: dtable
    const float *in;     // forward: table; backward: dy
    const float *indices;
};
struct DropoutArgs {
    const dk_dropout_desc &d;
    float *mask;
};
struct OptimArgs {
    const dk_optim_desc &d;
    float *param, *state1, *state2;
    const float *grad;
};
using EmbeddingImpl = OpImpl<dk_embedding_desc, EmbeddingArgs>;
using DropoutImpl = OpImpl<dk_dropout_desc, DropoutArgs>;
using OptimImpl = OpImpl<dk_optim_desc, OptimArgs>;
void check_embedding(dk_backend backend, const dk_embedding_desc *d, bool backward, const float *out, int64_t out_len, const float *in,
                     int64_t in_len, const float *indices, int64_t indices_len);
void check_dropout(const dk_dropout_desc *d, const float *mask, int64_t mask_len);
void check_optimizer(const dk_optim_desc *d, const float *param, int64_t param_len, const float *state1,
                     int64_t state1_len, const float *state2, int64_t state2_len, const float *grad,
                     int64_t grad_len);

// ---- the registry's lists (registry.cpp); each throws DK_UNAVAILABLE for a backend that cannot
// run here and DK_UNSUPPORTED for one with no implementation of the op ----
const std::vector<const BinaryImpl *> &binary_impls(dk_backend backend);
const std::vector<const ReduceImpl *> &reduce_impls(dk_backend backend);
const std::vector<const CopyImpl *> &copy_impls(dk_backend backend);
const std::vector<const EltwiseImpl *> &eltwise_forward_impls(dk_backend backend);
const std::vector<const EltwiseImpl *> &eltwise_backward_impls(dk_backend backend);
const std::vector<const SoftmaxImpl *> &softmax_forward_impls(dk_backend backend);
const std::vector<const SoftmaxImpl *> &softmax_backward_impls(dk_backend backend);
const std::vector<const XentImpl *> &xent_forward_impls(dk_backend backend);
const std::vector<const XentImpl *> &xent_backward_impls(dk_backend backend);
const std::vector<const BatchnormImpl *> &batchnorm_forward_impls(dk_backend backend);
const std::vector<const BatchnormImpl *> &batchnorm_backward_impls(dk_backend backend);
const std::vector<const LayernormImpl *> &layernorm_forward_impls(dk_backend backend);
const std::vector<const LayernormImpl *> &layernorm_backward_impls(dk_backend backend);
const std::vector<const Pool2dImpl *> &pool2d_forward_impls(dk_backend backend);
const std::vector<const Pool2dImpl *> &pool2d_backward_impls(dk_backend backend);
// The argmax variants (oneDNN's workspace is private to it, so onednn uses the CPU kernel here).
const std::vector<const Pool2dImpl *> &max_pool2d_indices_forward_impls(dk_backend backend);
const std::vector<const Pool2dImpl *> &max_pool2d_indices_backward_impls(dk_backend backend);
const std::vector<const Conv2dImpl *> &conv2d_impls(dk_backend backend);
const std::vector<const EmbeddingImpl *> &embedding_forward_impls(dk_backend backend);
const std::vector<const EmbeddingImpl *> &embedding_backward_impls(dk_backend backend);
const std::vector<const DropoutImpl *> &dropout_impls(dk_backend backend);
const std::vector<const OptimImpl *> &optimizer_impls(dk_backend backend);

// The library's matmul from inside another op (conv2d as im2col + GEMM): validates the
// descriptor and buffers with check_matmul and runs the backend's first supporting matmul
// implementation on the caller's ThreadLease (it takes none of its own).
void matmul_internal(dk_backend backend, const dk_matmul_desc &d, float *c, int64_t c_len, const float *a,
                     int64_t a_len, const float *b, int64_t b_len);

} // namespace dk
