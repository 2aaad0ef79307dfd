// The entry points of the training ops: validate once with the op's shape function, return early
// when there is nothing to compute, take a thread lease, run the first implementation of the
// backend's registry list that supports the descriptor.
#include "error.h"
#include "matmul.h"
#include "threading.h"
#include "train_ops.h"

#include <cmath>
#include <malloc.h>

namespace dk {

namespace {

// Training allocates and frees the same activation-sized blocks every step. glibc serves blocks
// above its mmap threshold (128 KiB by default, adapting upwards) with fresh mmaps, so every step
// would pay page faults and kernel zeroing for every activation and scratch buffer. Keeping blocks
// up to 32 MiB (glibc's maximum threshold on 64-bit) in the heap, and not trimming it eagerly, lets
// them be reused. Set once when libdeepkern loads.
struct MallocTuning {
    MallocTuning() {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 256 << 20);
    }
} malloc_tuning;

template <class Impl, class Desc>
const Impl &pick(const std::vector<const Impl *> &list, const Desc &d, const char *op) {
    for (const Impl *impl : list)
        if (impl->supports(d)) return *impl;
    fail_unsupported(op);
}

} // namespace

void matmul_internal(dk_backend backend, const dk_matmul_desc &d, float *c, int64_t c_len, const float *a,
                     int64_t a_len, const float *b, int64_t b_len) {
    check_matmul(&d, c, c_len, a, a_len, b, b_len);
    if (d.m == 0 || d.n == 0) return;
    if (d.k == 0) {
        for (int64_t i = 0; i < d.m; ++i)
            for (int64_t j = 0; j < d.n; ++j) c[i * d.ldc + j] = d.beta == 0.0f ? 0.0f : d.beta * c[i * d.ldc + j];
        return;
    }
    for (const MatmulImpl *impl : matmul_impls(backend))
        if (impl->supports(d)) return impl->run({d, c, a, b});
    fail_unsupported("matmul");
}

} // namespace dk

using namespace dk;

extern "C" dk_status dk_binary(dk_backend backend, dk_binary_op op, const dk_nd_desc *desc, float *out,
                               int64_t out_len, const float *a, int64_t a_len, const float *b, int64_t b_len) {
    return guarded([&] {
        check_binary(op, desc, out, out_len, a, a_len, b, b_len);
        const BinaryImpl &impl = pick(binary_impls(backend), *desc, "binary");
        if (nd_numel(*desc) == 0) return;
        ThreadLease lease;
        impl.run({op, *desc, out, a, b});
    });
}

extern "C" dk_status dk_reduce_sum(dk_backend backend, const dk_nd_desc *desc, float alpha, float beta, float *out,
                                   int64_t out_len, const float *a, int64_t a_len) {
    return guarded([&] {
        check_reduce(desc, alpha, beta, out, out_len, a, a_len);
        const ReduceImpl &impl = pick(reduce_impls(backend), *desc, "reduce_sum");
        // no early return for an empty input: a sum over an empty dimension is 0, so out still
        // becomes beta * out
        ThreadLease lease;
        impl.run({*desc, alpha, beta, out, a});
    });
}

extern "C" dk_status dk_copy(dk_backend backend, const dk_nd_desc *desc, float *out, int64_t out_len, const float *a,
                             int64_t a_len) {
    return guarded([&] {
        check_copy(desc, out, out_len, a, a_len);
        const CopyImpl &impl = pick(copy_impls(backend), *desc, "copy");
        if (nd_numel(*desc) == 0) return;
        ThreadLease lease;
        impl.run({*desc, out, a});
    });
}

extern "C" dk_status dk_eltwise_forward(dk_backend backend, const dk_eltwise_desc *desc, float *y, int64_t y_len,
                                        const float *x, int64_t x_len) {
    return guarded([&] {
        check_eltwise(desc, false, y, y_len, x, x_len, nullptr, 0);
        const EltwiseImpl &impl = pick(eltwise_forward_impls(backend), *desc, "eltwise_forward");
        if (desc->n == 0) return;
        ThreadLease lease;
        impl.run({*desc, y, x, nullptr});
    });
}

extern "C" dk_status dk_eltwise_backward(dk_backend backend, const dk_eltwise_desc *desc, float *dx, int64_t dx_len,
                                         const float *dy, int64_t dy_len, const float *x, int64_t x_len) {
    return guarded([&] {
        check_eltwise(desc, true, dx, dx_len, dy, dy_len, x, x_len);
        const EltwiseImpl &impl = pick(eltwise_backward_impls(backend), *desc, "eltwise_backward");
        if (desc->n == 0) return;
        ThreadLease lease;
        impl.run({*desc, dx, dy, x});
    });
}

extern "C" dk_status dk_softmax_forward(dk_backend backend, const dk_softmax_desc *desc, float *y, int64_t y_len,
                                        const float *x, int64_t x_len) {
    return guarded([&] {
        check_softmax(desc, false, y, y_len, x, x_len, nullptr, 0);
        const SoftmaxImpl &impl = pick(softmax_forward_impls(backend), *desc, "softmax_forward");
        if (desc->rows == 0 || desc->cols == 0) return;
        ThreadLease lease;
        impl.run({*desc, y, x, nullptr});
    });
}

extern "C" dk_status dk_softmax_backward(dk_backend backend, const dk_softmax_desc *desc, float *dx, int64_t dx_len,
                                         const float *dy, int64_t dy_len, const float *y, int64_t y_len) {
    return guarded([&] {
        check_softmax(desc, true, dx, dx_len, dy, dy_len, y, y_len);
        const SoftmaxImpl &impl = pick(softmax_backward_impls(backend), *desc, "softmax_backward");
        if (desc->rows == 0 || desc->cols == 0) return;
        ThreadLease lease;
        impl.run({*desc, dx, dy, y});
    });
}

extern "C" dk_status dk_softmax_xent_forward(dk_backend backend, const dk_xent_desc *desc, float *loss,
                                             int64_t loss_len, float *probs, int64_t probs_len, const float *logits,
                                             int64_t logits_len, const float *labels, int64_t labels_len) {
    return guarded([&] {
        check_xent(backend, desc, false, loss, loss_len, probs, probs_len, logits, logits_len, labels, labels_len);
        const XentImpl &impl = pick(xent_forward_impls(backend), *desc, "softmax_xent_forward");
        ThreadLease lease;
        impl.run({*desc, 0.0f, loss, probs, logits, labels});
    });
}

extern "C" dk_status dk_softmax_xent_backward(dk_backend backend, const dk_xent_desc *desc, float dloss,
                                              float *dlogits, int64_t dlogits_len, const float *probs,
                                              int64_t probs_len, const float *labels, int64_t labels_len) {
    return guarded([&] {
        check_xent(backend, desc, true, nullptr, 0, dlogits, dlogits_len, probs, probs_len, labels, labels_len);
        if (!std::isfinite(dloss)) fail(DK_INVALID_ARGUMENT, format("dloss must be finite, got %g", (double)dloss));
        const XentImpl &impl = pick(xent_backward_impls(backend), *desc, "softmax_xent_backward");
        if (desc->n == 0) return;
        ThreadLease lease;
        impl.run({*desc, dloss, nullptr, dlogits, probs, labels});
    });
}

extern "C" dk_status dk_batchnorm_forward(dk_backend backend, const dk_batchnorm_desc *desc, float *y, int64_t y_len,
                                          float *save_mean, int64_t save_mean_len, float *save_invstd,
                                          int64_t save_invstd_len, float *running_mean, int64_t running_mean_len,
                                          float *running_var, int64_t running_var_len, const float *x, int64_t x_len,
                                          const float *gamma, int64_t gamma_len, const float *beta, int64_t beta_len) {
    return guarded([&] {
        check_batchnorm_forward(desc, y, y_len, save_mean, save_mean_len, save_invstd, save_invstd_len, running_mean,
                                running_mean_len, running_var, running_var_len, x, x_len, gamma, gamma_len, beta,
                                beta_len);
        const BatchnormImpl &impl = pick(batchnorm_forward_impls(backend), *desc, "batchnorm_forward");
        if (desc->n * desc->c * desc->spatial == 0) return;
        ThreadLease lease;
        NormArgs p{};
        p.y = y, p.save_mean = save_mean, p.save_invstd = save_invstd, p.running_mean = running_mean;
        p.running_var = running_var, p.x = x, p.gamma = gamma, p.beta = beta;
        impl.run({*desc, p});
    });
}

extern "C" dk_status dk_batchnorm_backward(dk_backend backend, const dk_batchnorm_desc *desc, float *dx,
                                           int64_t dx_len, float *dgamma, int64_t dgamma_len, float *dbeta,
                                           int64_t dbeta_len, const float *dy, int64_t dy_len, const float *x,
                                           int64_t x_len, const float *gamma, int64_t gamma_len, const float *save_mean,
                                           int64_t save_mean_len, const float *save_invstd, int64_t save_invstd_len) {
    return guarded([&] {
        check_batchnorm_backward(desc, dx, dx_len, dgamma, dgamma_len, dbeta, dbeta_len, dy, dy_len, x, x_len, gamma,
                                 gamma_len, save_mean, save_mean_len, save_invstd, save_invstd_len);
        const BatchnormImpl &impl = pick(batchnorm_backward_impls(backend), *desc, "batchnorm_backward");
        if (desc->n * desc->c * desc->spatial == 0) return;
        ThreadLease lease;
        NormArgs p{};
        p.dx = dx, p.dgamma = dgamma, p.dbeta = dbeta, p.dy = dy, p.x = x, p.gamma = gamma, p.mean = save_mean;
        p.invstd = save_invstd;
        impl.run({*desc, p});
    });
}

extern "C" dk_status dk_layernorm_forward(dk_backend backend, const dk_layernorm_desc *desc, float *y, int64_t y_len,
                                          float *save_mean, int64_t save_mean_len, float *save_invstd,
                                          int64_t save_invstd_len, const float *x, int64_t x_len, const float *gamma,
                                          int64_t gamma_len, const float *beta, int64_t beta_len) {
    return guarded([&] {
        check_layernorm_forward(desc, y, y_len, save_mean, save_mean_len, save_invstd, save_invstd_len, x, x_len,
                                gamma, gamma_len, beta, beta_len);
        const LayernormImpl &impl = pick(layernorm_forward_impls(backend), *desc, "layernorm_forward");
        if (desc->rows == 0) return;
        ThreadLease lease;
        NormArgs p{};
        p.y = y, p.save_mean = save_mean, p.save_invstd = save_invstd, p.x = x, p.gamma = gamma, p.beta = beta;
        impl.run({*desc, p});
    });
}

extern "C" dk_status dk_layernorm_backward(dk_backend backend, const dk_layernorm_desc *desc, float *dx,
                                           int64_t dx_len, float *dgamma, int64_t dgamma_len, float *dbeta,
                                           int64_t dbeta_len, const float *dy, int64_t dy_len, const float *x,
                                           int64_t x_len, const float *gamma, int64_t gamma_len, const float *save_mean,
                                           int64_t save_mean_len, const float *save_invstd, int64_t save_invstd_len) {
    return guarded([&] {
        check_layernorm_backward(desc, dx, dx_len, dgamma, dgamma_len, dbeta, dbeta_len, dy, dy_len, x, x_len, gamma,
                                 gamma_len, save_mean, save_mean_len, save_invstd, save_invstd_len);
        const LayernormImpl &impl = pick(layernorm_backward_impls(backend), *desc, "layernorm_backward");
        ThreadLease lease;
        NormArgs p{};
        p.dx = dx, p.dgamma = dgamma, p.dbeta = dbeta, p.dy = dy, p.x = x, p.gamma = gamma, p.mean = save_mean;
        p.invstd = save_invstd;
        impl.run({*desc, p});
    });
}

extern "C" dk_status dk_pool2d_forward(dk_backend backend, const dk_pool2d_desc *desc, float *y, int64_t y_len,
                                       const float *x, int64_t x_len) {
    return guarded([&] {
        check_pool2d(desc, false, y, y_len, x, x_len, nullptr, 0);
        const Pool2dImpl &impl = pick(pool2d_forward_impls(backend), *desc, "pool2d_forward");
        if (desc->n * desc->c * desc->h * desc->w == 0) return;
        ThreadLease lease;
        impl.run({*desc, pool_out_h(*desc), pool_out_w(*desc), y, x, nullptr});
    });
}

extern "C" dk_status dk_pool2d_backward(dk_backend backend, const dk_pool2d_desc *desc, float *dx, int64_t dx_len,
                                        const float *dy, int64_t dy_len, const float *x, int64_t x_len) {
    return guarded([&] {
        check_pool2d(desc, true, dx, dx_len, dy, dy_len, x, x_len);
        const Pool2dImpl &impl = pick(pool2d_backward_impls(backend), *desc, "pool2d_backward");
        if (desc->n * desc->c * desc->h * desc->w == 0) return;
        ThreadLease lease;
        impl.run({*desc, pool_out_h(*desc), pool_out_w(*desc), dx, dy, x});
    });
}

extern "C" dk_status dk_max_pool2d_forward_indices(dk_backend backend, const dk_pool2d_desc *desc, float *y,
                                                   int64_t y_len, int32_t *indices, int64_t indices_len,
                                                   const float *x, int64_t x_len) {
    return guarded([&] {
        check_max_pool2d_indices(desc, false, y, y_len, x, x_len, indices, indices_len);
        const Pool2dImpl &impl = pick(max_pool2d_indices_forward_impls(backend), *desc, "max_pool2d_forward_indices");
        if (desc->n * desc->c * desc->h * desc->w == 0) return;
        ThreadLease lease;
        Pool2dArgs args{*desc, pool_out_h(*desc), pool_out_w(*desc), y, x, nullptr};
        args.indices_out = indices;
        impl.run(args);
    });
}

extern "C" dk_status dk_max_pool2d_backward_indices(dk_backend backend, const dk_pool2d_desc *desc, float *dx,
                                                    int64_t dx_len, const float *dy, int64_t dy_len,
                                                    const int32_t *indices, int64_t indices_len) {
    return guarded([&] {
        check_max_pool2d_indices(desc, true, dx, dx_len, dy, dy_len, indices, indices_len);
        const Pool2dImpl &impl = pick(max_pool2d_indices_backward_impls(backend), *desc, "max_pool2d_backward_indices");
        if (desc->n * desc->c * desc->h * desc->w == 0) return;
        ThreadLease lease;
        Pool2dArgs args{*desc, pool_out_h(*desc), pool_out_w(*desc), dx, dy, nullptr};
        args.indices_in = indices;
        impl.run(args);
    });
}

namespace {

dk_status conv2d(dk_backend backend, const dk_conv2d_desc *desc, int which, float *out, int64_t out_len,
                 float *out_bias, int64_t out_bias_len, const float *in, int64_t in_len, const float *in2,
                 int64_t in2_len, const float *bias, int64_t bias_len) {
    return guarded([&] {
        check_conv2d(desc, which, out, out_len, out_bias, out_bias_len, in, in_len, in2, in2_len, bias, bias_len);
        const dk_conv2d_desc &d = *desc;
        const Conv2dImpl &impl = pick(conv2d_impls(backend), d, "conv2d");
        const int64_t oh = conv_out_h(d), ow = conv_out_w(d);
        Conv2dArgs args{backend, d, oh, ow, out, out_bias, in, in2, bias};
        ThreadLease lease;
        if (which == 0) {
            if (d.n * d.h * d.w > 0) impl.forward(args);
        } else if (which == 1) {
            if (d.n * d.h * d.w > 0) impl.backward_data(args);
        } else {
            impl.backward_weights(args); // n == 0 writes zeros
        }
    });
}

} // namespace

extern "C" dk_status dk_conv2d_forward(dk_backend backend, const dk_conv2d_desc *desc, float *y, int64_t y_len,
                                       const float *x, int64_t x_len, const float *w, int64_t w_len,
                                       const float *bias, int64_t bias_len) {
    return conv2d(backend, desc, 0, y, y_len, nullptr, 0, x, x_len, w, w_len, bias, bias_len);
}

extern "C" dk_status dk_conv2d_backward_data(dk_backend backend, const dk_conv2d_desc *desc, float *dx,
                                             int64_t dx_len, const float *dy, int64_t dy_len, const float *w,
                                             int64_t w_len) {
    return conv2d(backend, desc, 1, dx, dx_len, nullptr, 0, dy, dy_len, w, w_len, nullptr, 0);
}

extern "C" dk_status dk_conv2d_backward_weights(dk_backend backend, const dk_conv2d_desc *desc, float *dw,
                                                int64_t dw_len, float *dbias, int64_t dbias_len, const float *dy,
                                                int64_t dy_len, const float *x, int64_t x_len) {
    return conv2d(backend, desc, 2, dw, dw_len, dbias, dbias_len, dy, dy_len, x, x_len, nullptr, 0);
}

extern "C" const char *dk_conv2d_impl_name(dk_backend backend, const dk_conv2d_desc *desc) {
    const char *name = nullptr;
    guarded([&] {
        check_conv2d_desc(desc, 0);
        name = pick(conv2d_impls(backend), *desc, "conv2d").name;
    });
    return name;
}

extern "C" dk_status dk_embedding_forward(dk_backend backend, const dk_embedding_desc *desc, float *y, int64_t y_len,
                                          const float *table, int64_t table_len, const float *indices,
                                          int64_t indices_len) {
    return guarded([&] {
        check_embedding(backend, desc, false, y, y_len, table, table_len, indices, indices_len);
        const EmbeddingImpl &impl = pick(embedding_forward_impls(backend), *desc, "embedding_forward");
        ThreadLease lease;
        impl.run({*desc, y, table, indices});
    });
}

extern "C" dk_status dk_embedding_backward(dk_backend backend, const dk_embedding_desc *desc, float *dtable,
                                           int64_t dtable_len, const float *dy, int64_t dy_len, const float *indices,
                                           int64_t indices_len) {
    return guarded([&] {
        check_embedding(backend, desc, true, dtable, dtable_len, dy, dy_len, indices, indices_len);
        const EmbeddingImpl &impl = pick(embedding_backward_impls(backend), *desc, "embedding_backward");
        ThreadLease lease;
        impl.run({*desc, dtable, dy, indices});
    });
}

extern "C" dk_status dk_dropout_mask(dk_backend backend, const dk_dropout_desc *desc, float *mask, int64_t mask_len) {
    return guarded([&] {
        check_dropout(desc, mask, mask_len);
        const DropoutImpl &impl = pick(dropout_impls(backend), *desc, "dropout_mask");
        ThreadLease lease;
        impl.run({*desc, mask});
    });
}

extern "C" dk_status dk_optimizer_step(dk_backend backend, const dk_optim_desc *desc, float *param, int64_t param_len,
                                       float *state1, int64_t state1_len, float *state2, int64_t state2_len,
                                       const float *grad, int64_t grad_len) {
    return guarded([&] {
        check_optimizer(desc, param, param_len, state1, state1_len, state2, state2_len, grad, grad_len);
        const OptimImpl &impl = pick(optimizer_impls(backend), *desc, "optimizer_step");
        if (desc->n == 0) return;
        ThreadLease lease;
        impl.run({*desc, param, state1, state2, grad});
    });
}
