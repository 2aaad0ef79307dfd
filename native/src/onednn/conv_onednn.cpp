// 2-D convolution through oneDNN's convolution primitives: forward (bias and the activation as
// an eltwise post-op), backward data, backward weights + bias. oneDNN chooses its own layouts
// (format_tag::any: nChw16c activations, OIhw16i16o-style weights on AVX-512); the user's NCHW
// activations and OIHW (grouped: GOIHW) weights are reordered in and out around the primitive.
//
// Everything a descriptor needs is built once and cached per (descriptor, OpenMP team size):
// the primitives, the reorders, and the blocked buffers. The reordered weights are reused from
// the previous call with the same descriptor when the plain weights are bytewise equal to a copy
// taken then (memcmp: exact, never a stale result; it reads the weights once where the reorder
// reads them and writes the blocked copy). In training the weights change every step, so the
// comparison fails at the first element and the weights are reordered again; in inference and
// benchmarks the reorder runs once. A plan is used by one call at a time (its mutex).
#include "core/error.h"
#include "core/train_ops.h"
#include "engine.h"

#include <omp.h>

#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace dk {

namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using tag = memory::format_tag;
using dt = memory::data_type;

// One operand in the user's layout and in the primitive's. `in` reorders user memory into the
// primitive's layout when they differ (else wraps the user pointer); `out` gives the memory the
// primitive writes and `finish` reorders it back to the user's buffer.
struct Staged {
    memory::desc user, inner;
    bool same = true;
    dnnl::reorder to_inner, to_user;
    memory buf;
    // cached weights: the plain values buf was made from
    std::vector<float> plain_copy;
    bool copy_valid = false;

    void init(const memory::desc &user_md, const memory::desc &inner_md, bool input) {
        user = user_md, inner = inner_md, same = user_md == inner_md;
        if (same) return;
        buf = memory(inner, onednn::engine());
        if (input) to_inner = dnnl::reorder(dnnl::reorder::primitive_desc(onednn::engine(), user, onednn::engine(), inner));
        else to_user = dnnl::reorder(dnnl::reorder::primitive_desc(onednn::engine(), inner, onednn::engine(), user));
    }
    memory wrap(const float *p) const { return memory(user, onednn::engine(), const_cast<float *>(p)); }
    memory in(const float *p, dnnl::stream &s) {
        if (same) return wrap(p);
        to_inner.execute(s, {{DNNL_ARG_FROM, wrap(p)}, {DNNL_ARG_TO, buf}});
        return buf;
    }
    // Weights: reorder only when they differ from those of the previous call.
    memory in_cached(const float *p, int64_t count, dnnl::stream &s) {
        if (same) return wrap(p);
        const size_t bytes = sizeof(float) * static_cast<size_t>(count);
        if (copy_valid && std::memcmp(plain_copy.data(), p, bytes) == 0) return buf;
        to_inner.execute(s, {{DNNL_ARG_FROM, wrap(p)}, {DNNL_ARG_TO, buf}});
        plain_copy.assign(p, p + count);
        copy_valid = true;
        return buf;
    }
    memory out(float *p) { return same ? wrap(p) : buf; }
    void finish(float *p, dnnl::stream &s) {
        if (!same) to_user.execute(s, {{DNNL_ARG_FROM, buf}, {DNNL_ARG_TO, wrap(p)}});
    }
};

struct Geometry {
    memory::dims x, w, y, strides, dilates, pad_l, pad_r;
    memory::desc x_md, w_md, y_md, b_md; // the user's layouts
    memory::desc x_any, w_any, y_any;
    int64_t w_count;
};

Geometry geometry(const dk_conv2d_desc &d, int64_t oh, int64_t ow) {
    Geometry g;
    g.x = {d.n, d.c, d.h, d.w};
    g.y = {d.n, d.oc, oh, ow};
    const bool grouped = d.groups > 1;
    g.w = grouped ? memory::dims{d.groups, d.oc / d.groups, d.c / d.groups, d.kernel_h, d.kernel_w}
                  : memory::dims{d.oc, d.c, d.kernel_h, d.kernel_w};
    g.w_count = d.oc * (d.c / d.groups) * d.kernel_h * d.kernel_w;
    g.strides = {d.stride_h, d.stride_w};
    g.dilates = {d.dilation_h - 1, d.dilation_w - 1}; // oneDNN counts the zeros between taps
    g.pad_l = {d.pad_h, d.pad_w};
    g.pad_r = {d.pad_h_end, d.pad_w_end};
    g.x_md = memory::desc(g.x, dt::f32, tag::nchw);
    g.y_md = memory::desc(g.y, dt::f32, tag::nchw);
    g.w_md = memory::desc(g.w, dt::f32, grouped ? tag::goihw : tag::oihw);
    g.b_md = memory::desc({d.oc}, dt::f32, tag::a);
    g.x_any = memory::desc(g.x, dt::f32, tag::any);
    g.y_any = memory::desc(g.y, dt::f32, tag::any);
    g.w_any = memory::desc(g.w, dt::f32, tag::any);
    return g;
}

struct Forward {
    dnnl::convolution_forward prim;
    Staged x, w, y;
};

struct BackwardData {
    dnnl::convolution_backward_data prim;
    Staged dy, w, dx;
};

struct BackwardWeights {
    dnnl::convolution_backward_weights prim;
    Staged x, dy, dw;
    memory dbias_scratch; // when the caller wants no bias gradient
};

// Everything for one descriptor and team size, each pass built on first use.
struct Plan {
    std::mutex mutex;
    Geometry g;
    dnnl::convolution_forward::primitive_desc hint; // the forward the backward passes refer to
    std::unique_ptr<Forward> fwd[2];                // [has bias]
    std::unique_ptr<BackwardData> bwd_data;
    std::unique_ptr<BackwardWeights> bwd_weights;
};

dnnl::convolution_forward::primitive_desc forward_pd(const dk_conv2d_desc &d, const Geometry &g, bool bias) {
    dnnl::primitive_attr attr;
    if (d.activation != DK_ACTIVATION_NONE) {
        dnnl::post_ops po;
        po.append_eltwise(d.activation == DK_ACTIVATION_RELU ? algorithm::eltwise_relu : algorithm::eltwise_gelu_tanh, 0.0f,
                          0.0f);
        attr.set_post_ops(po);
    }
    if (bias)
        return dnnl::convolution_forward::primitive_desc(onednn::engine(), prop_kind::forward_training,
                                                         algorithm::convolution_direct, g.x_any, g.w_any, g.b_md, g.y_any,
                                                         g.strides, g.dilates, g.pad_l, g.pad_r, attr);
    return dnnl::convolution_forward::primitive_desc(onednn::engine(), prop_kind::forward_training,
                                                     algorithm::convolution_direct, g.x_any, g.w_any, g.y_any, g.strides,
                                                     g.dilates, g.pad_l, g.pad_r, attr);
}

using Key = std::array<int64_t, 20>;

Key key_of(const dk_conv2d_desc &d) {
    return {d.n, d.c, d.h, d.w, d.oc, d.kernel_h, d.kernel_w, d.stride_h, d.stride_w, d.pad_h, d.pad_w, d.pad_h_end,
            d.pad_w_end, d.dilation_h, d.dilation_w, d.groups, d.activation, omp_get_max_threads(), 0, 0};
}

// The plan for this call's descriptor, created on first use; the cache holds at most 64 plans
// (their buffers are activation-sized) and starts over when full.
std::shared_ptr<Plan> plan(const Conv2dArgs &a) {
    static std::map<Key, std::shared_ptr<Plan>> cache;
    static std::mutex mutex;
    const Key key = key_of(a.d);
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    if (cache.size() >= 64) cache.clear();
    auto p = std::make_shared<Plan>();
    p->g = geometry(a.d, a.oh, a.ow);
    dk_conv2d_desc plain = a.d;
    plain.activation = DK_ACTIVATION_NONE;
    p->hint = forward_pd(plain, p->g, true);
    cache.emplace(key, p);
    return p;
}

void conv_forward_onednn(const Conv2dArgs &a) {
    const std::shared_ptr<Plan> p = plan(a);
    std::lock_guard<std::mutex> lock(p->mutex);
    const bool bias = a.bias != nullptr;
    std::unique_ptr<Forward> &f = p->fwd[bias];
    if (!f) {
        const auto pd = forward_pd(a.d, p->g, bias);
        f = std::make_unique<Forward>();
        f->prim = dnnl::convolution_forward(pd);
        f->x.init(p->g.x_md, pd.src_desc(), true);
        f->w.init(p->g.w_md, pd.weights_desc(), true);
        f->y.init(p->g.y_md, pd.dst_desc(), false);
    }
    dnnl::stream &s = onednn::stream();
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, f->x.in(a.in, s)},
                                            {DNNL_ARG_WEIGHTS, f->w.in_cached(a.in2, p->g.w_count, s)},
                                            {DNNL_ARG_DST, f->y.out(a.out)}};
    if (bias) args.emplace(DNNL_ARG_BIAS, memory(p->g.b_md, onednn::engine(), const_cast<float *>(a.bias)));
    f->prim.execute(s, args);
    f->y.finish(a.out, s);
    s.wait();
}

void conv_backward_data_onednn(const Conv2dArgs &a) {
    const std::shared_ptr<Plan> p = plan(a);
    std::lock_guard<std::mutex> lock(p->mutex);
    std::unique_ptr<BackwardData> &b = p->bwd_data;
    const Geometry &g = p->g;
    if (!b) {
        dnnl::convolution_backward_data::primitive_desc pd(onednn::engine(), algorithm::convolution_direct, g.x_any, g.w_any,
                                                           g.y_any, g.strides, g.dilates, g.pad_l, g.pad_r, p->hint);
        b = std::make_unique<BackwardData>();
        b->prim = dnnl::convolution_backward_data(pd);
        b->dy.init(g.y_md, pd.diff_dst_desc(), true);
        b->w.init(g.w_md, pd.weights_desc(), true);
        b->dx.init(g.x_md, pd.diff_src_desc(), false);
    }
    dnnl::stream &s = onednn::stream();
    b->prim.execute(s, {{DNNL_ARG_DIFF_DST, b->dy.in(a.in, s)},
                        {DNNL_ARG_WEIGHTS, b->w.in_cached(a.in2, g.w_count, s)},
                        {DNNL_ARG_DIFF_SRC, b->dx.out(a.out)}});
    b->dx.finish(a.out, s);
    s.wait();
}

void conv_backward_weights_onednn(const Conv2dArgs &a) {
    const std::shared_ptr<Plan> p = plan(a);
    std::lock_guard<std::mutex> lock(p->mutex);
    std::unique_ptr<BackwardWeights> &b = p->bwd_weights;
    const Geometry &g = p->g;
    if (!b) {
        dnnl::convolution_backward_weights::primitive_desc pd(onednn::engine(), algorithm::convolution_direct, g.x_any,
                                                              g.w_any, g.b_md, g.y_any, g.strides, g.dilates, g.pad_l,
                                                              g.pad_r, p->hint);
        b = std::make_unique<BackwardWeights>();
        b->prim = dnnl::convolution_backward_weights(pd);
        b->x.init(g.x_md, pd.src_desc(), true);
        b->dy.init(g.y_md, pd.diff_dst_desc(), true);
        b->dw.init(g.w_md, pd.diff_weights_desc(), false);
        b->dbias_scratch = memory(g.b_md, onednn::engine());
    }
    dnnl::stream &s = onednn::stream();
    memory dbias = a.out_bias ? memory(g.b_md, onednn::engine(), a.out_bias) : b->dbias_scratch;
    b->prim.execute(s, {{DNNL_ARG_SRC, b->x.in(a.in2, s)},
                        {DNNL_ARG_DIFF_DST, b->dy.in(a.in, s)},
                        {DNNL_ARG_DIFF_WEIGHTS, b->dw.out(a.out)},
                        {DNNL_ARG_DIFF_BIAS, dbias}});
    b->dw.finish(a.out, s);
    s.wait();
}

// Empty batches and planes go to the next implementation (the entry point skips them, except
// backward weights, which must write zeros).
bool supports(const dk_conv2d_desc &d) { return d.n >= 1 && d.h >= 1 && d.w >= 1; }

} // namespace

extern const Conv2dImpl conv2d_onednn_impl = {"onednn", supports, conv_forward_onednn, conv_backward_data_onednn,
                                              conv_backward_weights_onednn};

} // namespace dk
