// The shape functions of the training ops: one per op, run before any implementation.
#include "backend.h"
#include "cuda/dk_cuda.h"
#include "error.h"
#include "train_ops.h"

#include <cmath>
#include <cstdint>
#include <vector>

namespace dk {

namespace {

void nonneg(const char *name, int64_t v) {
    if (v < 0) fail(DK_INVALID_ARGUMENT, format("%s must be >= 0, got %lld", name, (long long)v));
}

int64_t mul(int64_t a, int64_t b, const char *what) {
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) fail(DK_INVALID_ARGUMENT, format("%s overflows a 64-bit size", what));
    return r;
}

int64_t mul(std::initializer_list<int64_t> v, const char *what) {
    int64_t r = 1;
    for (int64_t x : v) r = mul(r, x, what);
    return r;
}

// A buffer of `needed` floats: len >= 0, non-null when needed > 0, len >= needed.
void buffer(const char *name, const void *p, int64_t len, int64_t needed) {
    if (len < 0) fail(DK_INVALID_ARGUMENT, format("%s_len must be >= 0, got %lld", name, (long long)len));
    if (needed == 0) return;
    if (!p) fail(DK_NULL_POINTER, format("%s must not be null", name));
    if (len < needed)
        fail(DK_INVALID_ARGUMENT, format("%s needs %lld floats for its shape, but its buffer holds %lld", name,
                                         (long long)needed, (long long)len));
}

// An optional buffer: null with length 0, or `needed` floats.
bool optional_buffer(const char *name, const void *p, int64_t len, int64_t needed) {
    if (!p && len == 0) return false;
    buffer(name, p, len, needed);
    return true;
}

void no_overlap(const char *out, const float *p, int64_t p_len, const char *in, const float *q, int64_t q_len) {
    if (!p || !q || p_len == 0 || q_len == 0) return;
    if (p < q + q_len && q < p + p_len) fail(DK_INVALID_ARGUMENT, format("%s must not overlap %s", out, in));
}

// Every value of `v` [n] is an integer in [0, limit); names the first that is not. On the cuda
// backend v is device memory: it is copied to the host first (a synchronizing copy of n floats).
void indices_in_range(dk_backend backend, const char *name, const float *v, int64_t n, int64_t limit,
                      const char *limit_name) {
    std::vector<float> host;
    if (backend == DK_BACKEND_CUDA && n > 0) {
        host.resize(static_cast<size_t>(n));
        DKC_CALL(dkc_memcpy, static_cast<void *>(host.data()), static_cast<const void *>(v), n * int64_t(sizeof(float)),
                 int32_t(DKC_DEVICE_TO_HOST), dkc_stream(nullptr));
        v = host.data();
    }
    for (int64_t i = 0; i < n; ++i) {
        const float x = v[i];
        if (!(x >= 0.0f) || x >= static_cast<float>(limit) || x != std::floor(x))
            fail(DK_INVALID_ARGUMENT, format("%s[%lld] = %g is not a valid index: %s must hold integers in [0, %lld) (%s)",
                                             name, (long long)i, (double)x, name, (long long)limit, limit_name));
    }
}

void finite(const char *name, float v) {
    if (!std::isfinite(v)) fail(DK_INVALID_ARGUMENT, format("%s must be finite, got %g", name, (double)v));
}

// The number of floats spanned by a strided operand: 1 + sum (shape - 1) * stride, or 0 when empty.
int64_t nd_extent(const char *name, const dk_nd_desc &d, const int64_t *strides) {
    int64_t last = 0;
    for (int i = 0; i < d.rank; ++i) {
        if (d.shape[i] == 0) return 0;
        if (strides[i] < 0)
            fail(DK_INVALID_ARGUMENT, format("%s_strides[%d] must be >= 0, got %lld", name, i, (long long)strides[i]));
        int64_t span;
        if (__builtin_mul_overflow(d.shape[i] - 1, strides[i], &span) || __builtin_add_overflow(last, span, &last))
            fail(DK_INVALID_ARGUMENT, format("%s's strides overflow a 64-bit size", name));
    }
    return last + 1;
}

void check_nd(const dk_nd_desc *d) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    if (d->rank < 0 || d->rank > DK_MAX_RANK)
        fail(DK_INVALID_ARGUMENT, format("rank must be in [0, %d], got %d", DK_MAX_RANK, d->rank));
    int64_t n = 1;
    for (int i = 0; i < d->rank; ++i) {
        if (d->shape[i] < 0)
            fail(DK_INVALID_ARGUMENT, format("shape[%d] must be >= 0, got %lld", i, (long long)d->shape[i]));
        n = mul(n, d->shape[i], "the shape's element count");
    }
}

// Output strides that write each element once: no 0 stride in a dimension of size > 1.
void distinct_out(const dk_nd_desc &d) {
    for (int i = 0; i < d.rank; ++i)
        if (d.shape[i] > 1 && d.out_strides[i] == 0)
            fail(DK_INVALID_ARGUMENT, format("out_strides[%d] is 0 for a dimension of size %lld: the output would "
                                             "be written more than once", i, (long long)d.shape[i]));
}

bool same_view(const float *p, const int64_t *ps, const float *q, const int64_t *qs, int rank) {
    if (p != q) return false;
    for (int i = 0; i < rank; ++i)
        if (ps[i] != qs[i]) return false;
    return true;
}

} // namespace

void check_binary(dk_binary_op op, const dk_nd_desc *d, const float *out, int64_t out_len, const float *a,
                  int64_t a_len, const float *b, int64_t b_len) {
    if (op != DK_BINARY_ADD && op != DK_BINARY_SUB && op != DK_BINARY_MUL)
        fail(DK_INVALID_ARGUMENT, format("op must be DK_BINARY_ADD, _SUB or _MUL, got %d", (int)op));
    check_nd(d);
    distinct_out(*d);
    const int64_t on = nd_extent("out", *d, d->out_strides), an = nd_extent("a", *d, d->a_strides),
                  bn = nd_extent("b", *d, d->b_strides);
    buffer("out", out, out_len, on);
    buffer("a", a, a_len, an);
    buffer("b", b, b_len, bn);
    if (!same_view(out, d->out_strides, a, d->a_strides, d->rank)) no_overlap("out", out, on, "a", a, an);
    if (!same_view(out, d->out_strides, b, d->b_strides, d->rank)) no_overlap("out", out, on, "b", b, bn);
}

void check_reduce(const dk_nd_desc *d, float alpha, float beta, const float *out, int64_t out_len, const float *a,
                  int64_t a_len) {
    check_nd(d);
    finite("alpha", alpha);
    finite("beta", beta);
    const int64_t on = nd_extent("out", *d, d->out_strides), an = nd_extent("a", *d, d->a_strides);
    buffer("out", out, out_len, on);
    buffer("a", a, a_len, an);
    no_overlap("out", out, on, "a", a, an);
}

void check_copy(const dk_nd_desc *d, const float *out, int64_t out_len, const float *a, int64_t a_len) {
    check_nd(d);
    distinct_out(*d);
    const int64_t on = nd_extent("out", *d, d->out_strides), an = nd_extent("a", *d, d->a_strides);
    buffer("out", out, out_len, on);
    buffer("a", a, a_len, an);
    no_overlap("out", out, on, "a", a, an);
}

void check_eltwise(const dk_eltwise_desc *d, bool backward, const float *y, int64_t y_len, const float *x,
                   int64_t x_len, const float *x2, int64_t x2_len) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    if (d->alg < DK_ELTWISE_RELU || d->alg > DK_ELTWISE_RSQRT)
        fail(DK_INVALID_ARGUMENT, format("alg must be a dk_eltwise_alg (0..6), got %d", d->alg));
    nonneg("n", d->n);
    finite("alpha", d->alpha);
    if (d->alg == DK_ELTWISE_RSQRT && backward)
        fail(DK_UNSUPPORTED, "DK_ELTWISE_RSQRT has no backward here; compose it (layer norm has its own kernel)");
    buffer(backward ? "dx" : "y", y, y_len, d->n);
    buffer(backward ? "dy" : "x", x, x_len, d->n);
    if (y != x) no_overlap(backward ? "dx" : "y", y, d->n, backward ? "dy" : "x", x, d->n);
    if (backward) {
        buffer("x", x2, x2_len, d->n);
        no_overlap("dx", y, d->n, "x", x2, d->n);
    }
}

void check_softmax(const dk_softmax_desc *d, bool backward, const float *y, int64_t y_len, const float *x,
                   int64_t x_len, const float *y2, int64_t y2_len) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    nonneg("rows", d->rows);
    nonneg("cols", d->cols);
    if (d->log != 0 && d->log != 1) fail(DK_INVALID_ARGUMENT, format("log must be 0 or 1, got %d", d->log));
    const int64_t n = mul(d->rows, d->cols, "rows * cols");
    buffer(backward ? "dx" : "y", y, y_len, n);
    buffer(backward ? "dy" : "x", x, x_len, n);
    if (y != x) no_overlap(backward ? "dx" : "y", y, n, backward ? "dy" : "x", x, n);
    if (backward) {
        buffer("y", y2, y2_len, n);
        no_overlap("dx", y, n, "y", y2, n);
    }
}

void check_xent(dk_backend backend, const dk_xent_desc *d, bool backward, const float *loss, int64_t loss_len, const float *out,
                int64_t out_len, const float *in, int64_t in_len, const float *labels, int64_t labels_len) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    nonneg("n", d->n);
    if (d->classes < 1) fail(DK_INVALID_ARGUMENT, format("classes must be >= 1, got %lld", (long long)d->classes));
    if (!(d->smoothing >= 0.0f && d->smoothing < 1.0f))
        fail(DK_INVALID_ARGUMENT, format("smoothing must be in [0, 1), got %g", (double)d->smoothing));
    const int64_t n = mul(d->n, d->classes, "n * classes");
    if (!backward) buffer("loss", loss, loss_len, 1);
    buffer(backward ? "dlogits" : "probs", out, out_len, n);
    buffer(backward ? "probs" : "logits", in, in_len, n);
    buffer("labels", labels, labels_len, d->n);
    no_overlap(backward ? "dlogits" : "probs", out, n, backward ? "probs" : "logits", in, n);
    no_overlap(backward ? "dlogits" : "probs", out, n, "labels", labels, d->n);
    if (!backward) no_overlap("loss", loss, 1, "probs", out, n);
    indices_in_range(backend, "labels", labels, d->n, d->classes, "the number of classes");
}

namespace {

void check_norm_desc(int64_t n, int64_t c, int64_t spatial, float eps) {
    nonneg("n", n);
    nonneg("c", c);
    nonneg("spatial", spatial);
    mul({n, c, spatial}, "n * c * spatial");
    if (!(eps > 0.0f) || !std::isfinite(eps)) fail(DK_INVALID_ARGUMENT, format("eps must be > 0, got %g", (double)eps));
}

} // namespace

void check_batchnorm_forward(const dk_batchnorm_desc *d, const float *y, int64_t y_len, const float *save_mean,
                             int64_t save_mean_len, const float *save_invstd, int64_t save_invstd_len,
                             const float *running_mean, int64_t running_mean_len, const float *running_var,
                             int64_t running_var_len, const float *x, int64_t x_len, const float *gamma,
                             int64_t gamma_len, const float *beta, int64_t beta_len) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    check_norm_desc(d->n, d->c, d->spatial, d->eps);
    if (d->training != 0 && d->training != 1)
        fail(DK_INVALID_ARGUMENT, format("training must be 0 or 1, got %d", d->training));
    if (!(d->momentum >= 0.0f && d->momentum <= 1.0f))
        fail(DK_INVALID_ARGUMENT, format("momentum must be in [0, 1], got %g", (double)d->momentum));
    if (d->training && d->n * d->spatial < 2 && d->c > 0)
        fail(DK_INVALID_ARGUMENT, "training batch norm needs at least 2 values per channel (n * spatial >= 2)");
    const int64_t n = d->n * d->c * d->spatial;
    buffer("y", y, y_len, n);
    buffer("x", x, x_len, n);
    no_overlap("y", y, n, "x", x, n);
    if (d->training) {
        buffer("save_mean", save_mean, save_mean_len, d->c);
        buffer("save_invstd", save_invstd, save_invstd_len, d->c);
    }
    buffer("running_mean", running_mean, running_mean_len, d->c);
    buffer("running_var", running_var, running_var_len, d->c);
    buffer("gamma", gamma, gamma_len, d->c);
    buffer("beta", beta, beta_len, d->c);
    no_overlap("y", y, n, "running_mean", running_mean, d->c);
    no_overlap("y", y, n, "running_var", running_var, d->c);
}

void check_batchnorm_backward(const dk_batchnorm_desc *d, const float *dx, int64_t dx_len, const float *dgamma,
                              int64_t dgamma_len, const float *dbeta, int64_t dbeta_len, const float *dy,
                              int64_t dy_len, const float *x, int64_t x_len, const float *gamma, int64_t gamma_len,
                              const float *mean, int64_t mean_len, const float *invstd, int64_t invstd_len) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    check_norm_desc(d->n, d->c, d->spatial, d->eps);
    const int64_t n = d->n * d->c * d->spatial;
    buffer("dx", dx, dx_len, n);
    buffer("dgamma", dgamma, dgamma_len, d->c);
    buffer("dbeta", dbeta, dbeta_len, d->c);
    buffer("dy", dy, dy_len, n);
    buffer("x", x, x_len, n);
    buffer("gamma", gamma, gamma_len, d->c);
    buffer("save_mean", mean, mean_len, d->c);
    buffer("save_invstd", invstd, invstd_len, d->c);
    no_overlap("dx", dx, n, "dy", dy, n);
    no_overlap("dx", dx, n, "x", x, n);
    no_overlap("dgamma", dgamma, d->c, "dbeta", dbeta, d->c);
}

void check_layernorm_forward(const dk_layernorm_desc *d, const float *y, int64_t y_len, const float *save_mean,
                             int64_t save_mean_len, const float *save_invstd, int64_t save_invstd_len,
                             const float *x, int64_t x_len, const float *gamma, int64_t gamma_len,
                             const float *beta, int64_t beta_len) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    nonneg("rows", d->rows);
    nonneg("cols", d->cols);
    if (!(d->eps > 0.0f) || !std::isfinite(d->eps))
        fail(DK_INVALID_ARGUMENT, format("eps must be > 0, got %g", (double)d->eps));
    const int64_t n = mul(d->rows, d->cols, "rows * cols");
    buffer("y", y, y_len, n);
    buffer("save_mean", save_mean, save_mean_len, d->rows);
    buffer("save_invstd", save_invstd, save_invstd_len, d->rows);
    buffer("x", x, x_len, n);
    buffer("gamma", gamma, gamma_len, d->cols);
    buffer("beta", beta, beta_len, d->cols);
    no_overlap("y", y, n, "x", x, n);
}

void check_layernorm_backward(const dk_layernorm_desc *d, const float *dx, int64_t dx_len, const float *dgamma,
                              int64_t dgamma_len, const float *dbeta, int64_t dbeta_len, const float *dy,
                              int64_t dy_len, const float *x, int64_t x_len, const float *gamma, int64_t gamma_len,
                              const float *mean, int64_t mean_len, const float *invstd, int64_t invstd_len) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    nonneg("rows", d->rows);
    nonneg("cols", d->cols);
    const int64_t n = mul(d->rows, d->cols, "rows * cols");
    buffer("dx", dx, dx_len, n);
    buffer("dgamma", dgamma, dgamma_len, d->cols);
    buffer("dbeta", dbeta, dbeta_len, d->cols);
    buffer("dy", dy, dy_len, n);
    buffer("x", x, x_len, n);
    buffer("gamma", gamma, gamma_len, d->cols);
    buffer("save_mean", mean, mean_len, d->rows);
    buffer("save_invstd", invstd, invstd_len, d->rows);
    no_overlap("dx", dx, n, "dy", dy, n);
    no_overlap("dx", dx, n, "x", x, n);
}

int64_t pool_out_size(const char *dim, int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t pad_end) {
    const int64_t limit = int64_t(1) << 40;
    if (kernel < 1) fail(DK_INVALID_ARGUMENT, format("kernel_%s must be >= 1, got %lld", dim, (long long)kernel));
    if (stride < 1) fail(DK_INVALID_ARGUMENT, format("stride_%s must be >= 1, got %lld", dim, (long long)stride));
    if (pad < 0 || pad >= kernel)
        fail(DK_INVALID_ARGUMENT, format("pad_%s must be in [0, kernel_%s = %lld) so that every window sees the input, got %lld",
                                         dim, dim, (long long)kernel, (long long)pad));
    if (pad_end < 0 || pad_end >= kernel)
        fail(DK_INVALID_ARGUMENT, format("pad_%s_end must be in [0, kernel_%s = %lld) so that every window sees the input, "
                                         "got %lld", dim, dim, (long long)kernel, (long long)pad_end));
    if (in > limit || kernel > limit || stride > limit)
        fail(DK_INVALID_ARGUMENT, format("pool2d: %s, kernel_%s and stride_%s must be <= 2^40", dim, dim, dim));
    const int64_t span = in + pad + pad_end - kernel;
    if (span < 0)
        fail(DK_INVALID_ARGUMENT, format("pool2d: kernel_%s (%lld) is larger than the padded input (%s %lld + pad_%s %lld + "
                                         "pad_%s_end %lld)", dim, (long long)kernel, dim, (long long)in, dim, (long long)pad,
                                         dim, (long long)pad_end));
    return span / stride + 1;
}

void check_pool2d_desc(const dk_pool2d_desc *d) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    if (d->alg != DK_POOL_MAX && d->alg != DK_POOL_AVG)
        fail(DK_INVALID_ARGUMENT, format("alg must be DK_POOL_MAX or DK_POOL_AVG, got %d", d->alg));
    if (d->count_include_pad != 0 && d->count_include_pad != 1)
        fail(DK_INVALID_ARGUMENT, format("count_include_pad must be 0 or 1, got %d", d->count_include_pad));
    nonneg("n", d->n);
    nonneg("c", d->c);
    nonneg("h", d->h);
    nonneg("w", d->w);
    const int64_t oh = pool_out_h(*d), ow = pool_out_w(*d);
    mul({d->n, d->c, d->h, d->w}, "n * c * h * w");
    mul({d->n, d->c, oh, ow}, "n * c * oh * ow");
}

void check_pool2d(const dk_pool2d_desc *d, bool backward, const float *y, int64_t y_len, const float *x,
                  int64_t x_len, const float *x2, int64_t x2_len) {
    check_pool2d_desc(d);
    const int64_t xn = d->n * d->c * d->h * d->w, yn = d->n * d->c * pool_out_h(*d) * pool_out_w(*d);
    buffer(backward ? "dx" : "y", y, y_len, backward ? xn : yn);
    buffer(backward ? "dy" : "x", x, x_len, backward ? yn : xn);
    no_overlap(backward ? "dx" : "y", y, backward ? xn : yn, backward ? "dy" : "x", x, backward ? yn : xn);
    if (backward) {
        buffer("x", x2, x2_len, xn);
        no_overlap("dx", y, xn, "x", x2, xn);
    }
}

void check_max_pool2d_indices(const dk_pool2d_desc *d, bool backward, const float *out, int64_t out_len,
                              const float *in, int64_t in_len, const int32_t *indices, int64_t indices_len) {
    check_pool2d_desc(d);
    if (d->alg != DK_POOL_MAX)
        fail(DK_INVALID_ARGUMENT, format("alg must be DK_POOL_MAX for the argmax variants, got %d", d->alg));
    const int64_t plane = d->h * d->w;
    if (plane > INT32_MAX)
        fail(DK_INVALID_ARGUMENT, format("h * w (%lld) must be < 2^31 for int32 indices", (long long)plane));
    const int64_t xn = d->n * d->c * plane, yn = d->n * d->c * pool_out_h(*d) * pool_out_w(*d);
    buffer(backward ? "dx" : "y", out, out_len, backward ? xn : yn);
    buffer(backward ? "dy" : "x", in, in_len, backward ? yn : xn);
    buffer("indices", indices, indices_len, yn);
    const float *idx = reinterpret_cast<const float *>(indices);
    no_overlap(backward ? "dx" : "y", out, backward ? xn : yn, backward ? "dy" : "x", in, backward ? yn : xn);
    no_overlap(backward ? "dx" : "y", out, backward ? xn : yn, "indices", idx, yn);
    if (!backward) {
        no_overlap("indices", idx, yn, "x", in, xn);
        return;
    }
    no_overlap("indices", idx, yn, "dy", in, yn);
    for (int64_t i = 0; i < yn; ++i)
        if (indices[i] < 0 || indices[i] >= plane)
            fail(DK_INVALID_ARGUMENT, format("indices[%lld] = %d is not a position in an h * w = %lld plane", (long long)i,
                                             indices[i], (long long)plane));
}

int64_t conv_out_size(const char *dim, int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t pad_end,
                      int64_t dilation) {
    const int64_t limit = int64_t(1) << 40;
    if (kernel < 1) fail(DK_INVALID_ARGUMENT, format("kernel_%s must be >= 1, got %lld", dim, (long long)kernel));
    if (stride < 1) fail(DK_INVALID_ARGUMENT, format("stride_%s must be >= 1, got %lld", dim, (long long)stride));
    if (dilation < 1) fail(DK_INVALID_ARGUMENT, format("dilation_%s must be >= 1, got %lld", dim, (long long)dilation));
    if (pad < 0) fail(DK_INVALID_ARGUMENT, format("pad_%s must be >= 0, got %lld", dim, (long long)pad));
    if (pad_end < 0) fail(DK_INVALID_ARGUMENT, format("pad_%s_end must be >= 0, got %lld", dim, (long long)pad_end));
    if (in > limit || pad > limit || pad_end > limit || kernel > limit || stride > limit || dilation > limit)
        fail(DK_INVALID_ARGUMENT, format("conv2d: %s, kernel_%s, stride_%s, dilation_%s, pad_%s and pad_%s_end must be "
                                         "<= 2^40", dim, dim, dim, dim, dim, dim));
    const int64_t extent = mul(dilation, kernel - 1, "dilation * (kernel - 1)") + 1; // the dilated kernel
    if (extent > limit) fail(DK_INVALID_ARGUMENT, format("conv2d: dilation_%s * (kernel_%s - 1) must be < 2^40", dim, dim));
    const int64_t span = in + pad + pad_end - extent;
    if (span < 0)
        fail(DK_INVALID_ARGUMENT,
             format("conv2d: the dilated kernel_%s (%lld = dilation_%s * (kernel_%s - 1) + 1) is larger than the padded "
                    "input (%s %lld + pad_%s %lld + pad_%s_end %lld): the output would be empty",
                    dim, (long long)extent, dim, dim, dim, (long long)in, dim, (long long)pad, dim, (long long)pad_end));
    return span / stride + 1;
}

void check_conv2d_desc(const dk_conv2d_desc *d, int which) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    nonneg("n", d->n);
    if (d->c < 1) fail(DK_INVALID_ARGUMENT, format("c must be >= 1, got %lld", (long long)d->c));
    if (d->oc < 1) fail(DK_INVALID_ARGUMENT, format("oc must be >= 1, got %lld", (long long)d->oc));
    nonneg("h", d->h);
    nonneg("w", d->w);
    if (d->groups < 1) fail(DK_INVALID_ARGUMENT, format("groups must be >= 1, got %lld", (long long)d->groups));
    if (d->c % d->groups != 0)
        fail(DK_INVALID_ARGUMENT, format("groups (%lld) must divide c (%lld)", (long long)d->groups, (long long)d->c));
    if (d->oc % d->groups != 0)
        fail(DK_INVALID_ARGUMENT, format("groups (%lld) must divide oc (%lld)", (long long)d->groups, (long long)d->oc));
    if (d->activation != DK_ACTIVATION_NONE && d->activation != DK_ACTIVATION_RELU &&
        d->activation != DK_ACTIVATION_GELU)
        fail(DK_INVALID_ARGUMENT, format("activation must be DK_ACTIVATION_NONE, RELU or GELU, got %d", d->activation));
    if (which != 0 && d->activation != DK_ACTIVATION_NONE)
        fail(DK_INVALID_ARGUMENT,
             format("activation must be DK_ACTIVATION_NONE for conv2d backward %s (got %d): the backward is the gradient of "
                    "conv + bias; apply the activation's gradient first",
                    which == 1 ? "data" : "weights", d->activation));
    const int64_t oh = conv_out_size("h", d->h, d->kernel_h, d->stride_h, d->pad_h, d->pad_h_end, d->dilation_h);
    const int64_t ow = conv_out_size("w", d->w, d->kernel_w, d->stride_w, d->pad_w, d->pad_w_end, d->dilation_w);
    mul({d->n, d->c, d->h, d->w}, "n * c * h * w");
    mul({d->n, d->oc, oh, ow}, "n * oc * oh * ow");
    mul({d->oc, d->c / d->groups, d->kernel_h, d->kernel_w}, "oc * (c / groups) * kernel_h * kernel_w");
    mul({d->c, d->kernel_h, d->kernel_w, d->n, oh, ow}, "the im2col buffer (c * kernel_h * kernel_w * n * oh * ow)");
}

void check_conv2d(const dk_conv2d_desc *d, int which, const float *out, int64_t out_len, const float *out_bias,
                  int64_t out_bias_len, const float *in, int64_t in_len, const float *in2, int64_t in2_len,
                  const float *bias, int64_t bias_len) {
    check_conv2d_desc(d, which);
    const int64_t oh = conv_out_h(*d), ow = conv_out_w(*d);
    const int64_t xn = d->n * d->c * d->h * d->w, yn = d->n * d->oc * oh * ow;
    const int64_t wn = d->oc * (d->c / d->groups) * d->kernel_h * d->kernel_w;
    if (which == 0) {
        buffer("y", out, out_len, yn);
        buffer("x", in, in_len, xn);
        buffer("w", in2, in2_len, wn);
        const bool has_bias = optional_buffer("bias", bias, bias_len, d->oc);
        no_overlap("y", out, yn, "x", in, xn);
        no_overlap("y", out, yn, "w", in2, wn);
        if (has_bias) no_overlap("y", out, yn, "bias", bias, d->oc);
    } else if (which == 1) {
        buffer("dx", out, out_len, xn);
        buffer("dy", in, in_len, yn);
        buffer("w", in2, in2_len, wn);
        no_overlap("dx", out, xn, "dy", in, yn);
        no_overlap("dx", out, xn, "w", in2, wn);
    } else {
        buffer("dw", out, out_len, wn);
        const bool has_db = optional_buffer("dbias", out_bias, out_bias_len, d->oc);
        buffer("dy", in, in_len, yn);
        buffer("x", in2, in2_len, xn);
        no_overlap("dw", out, wn, "dy", in, yn);
        no_overlap("dw", out, wn, "x", in2, xn);
        if (has_db) {
            no_overlap("dbias", out_bias, d->oc, "dw", out, wn);
            no_overlap("dbias", out_bias, d->oc, "dy", in, yn);
        }
    }
}

void check_embedding(dk_backend backend, const dk_embedding_desc *d, bool backward, const float *out, int64_t out_len, const float *in,
                     int64_t in_len, const float *indices, int64_t indices_len) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    nonneg("n", d->n);
    if (d->vocab < 1) fail(DK_INVALID_ARGUMENT, format("vocab must be >= 1, got %lld", (long long)d->vocab));
    nonneg("dim", d->dim);
    const int64_t yn = mul(d->n, d->dim, "n * dim"), tn = mul(d->vocab, d->dim, "vocab * dim");
    buffer(backward ? "dtable" : "y", out, out_len, backward ? tn : yn);
    buffer(backward ? "dy" : "table", in, in_len, backward ? yn : tn);
    buffer("indices", indices, indices_len, d->n);
    no_overlap(backward ? "dtable" : "y", out, backward ? tn : yn, backward ? "dy" : "table", in, backward ? yn : tn);
    no_overlap(backward ? "dtable" : "y", out, backward ? tn : yn, "indices", indices, d->n);
    indices_in_range(backend, "indices", indices, d->n, d->vocab, "the vocabulary size");
}

void check_dropout(const dk_dropout_desc *d, const float *mask, int64_t mask_len) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    nonneg("n", d->n);
    if (!(d->p >= 0.0f && d->p < 1.0f)) fail(DK_INVALID_ARGUMENT, format("p must be in [0, 1), got %g", (double)d->p));
    buffer("mask", mask, mask_len, d->n);
}

void check_optimizer(const dk_optim_desc *d, const float *param, int64_t param_len, const float *state1,
                     int64_t state1_len, const float *state2, int64_t state2_len, const float *grad,
                     int64_t grad_len) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    if (d->alg < DK_OPTIM_SGD || d->alg > DK_OPTIM_RMSPROP)
        fail(DK_INVALID_ARGUMENT, format("alg must be a dk_optim_alg (0..3), got %d", d->alg));
    nonneg("n", d->n);
    if (!(d->lr >= 0.0f) || !std::isfinite(d->lr)) fail(DK_INVALID_ARGUMENT, format("lr must be >= 0, got %g", (double)d->lr));
    if (!(d->momentum >= 0.0f && d->momentum < 1.0f))
        fail(DK_INVALID_ARGUMENT, format("momentum must be in [0, 1), got %g", (double)d->momentum));
    if (d->nesterov != 0 && d->nesterov != 1) fail(DK_INVALID_ARGUMENT, format("nesterov must be 0 or 1, got %d", d->nesterov));
    if (d->nesterov && d->momentum == 0.0f) fail(DK_INVALID_ARGUMENT, "nesterov needs momentum > 0");
    if (!(d->beta1 >= 0.0f && d->beta1 < 1.0f)) fail(DK_INVALID_ARGUMENT, format("beta1 must be in [0, 1), got %g", (double)d->beta1));
    if (!(d->beta2 >= 0.0f && d->beta2 < 1.0f)) fail(DK_INVALID_ARGUMENT, format("beta2 must be in [0, 1), got %g", (double)d->beta2));
    if (!(d->eps > 0.0f) || !std::isfinite(d->eps)) fail(DK_INVALID_ARGUMENT, format("eps must be > 0, got %g", (double)d->eps));
    if (!(d->weight_decay >= 0.0f) || !std::isfinite(d->weight_decay))
        fail(DK_INVALID_ARGUMENT, format("weight_decay must be >= 0, got %g", (double)d->weight_decay));
    if (!(d->l1 >= 0.0f) || !std::isfinite(d->l1)) fail(DK_INVALID_ARGUMENT, format("l1 must be >= 0, got %g", (double)d->l1));
    const bool adam = d->alg == DK_OPTIM_ADAM || d->alg == DK_OPTIM_ADAMW;
    if (adam && d->step < 1) fail(DK_INVALID_ARGUMENT, format("step must be >= 1 for Adam, got %lld", (long long)d->step));
    const bool uses1 = adam || d->momentum > 0.0f;
    const bool uses2 = adam || d->alg == DK_OPTIM_RMSPROP;
    buffer("param", param, param_len, d->n);
    buffer("grad", grad, grad_len, d->n);
    buffer("state1", state1, state1_len, uses1 ? d->n : 0);
    buffer("state2", state2, state2_len, uses2 ? d->n : 0);
    no_overlap("param", param, d->n, "grad", grad, d->n);
    if (uses1) no_overlap("state1", state1, d->n, "param", param, d->n), no_overlap("state1", state1, d->n, "grad", grad, d->n);
    if (uses2) no_overlap("state2", state2, d->n, "param", param, d->n), no_overlap("state2", state2, d->n, "grad", grad, d->n);
    if (uses1 && uses2) no_overlap("state1", state1, d->n, "state2", state2, d->n);
}

} // namespace dk
