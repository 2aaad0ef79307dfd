// 2-D max and average pooling through oneDNN's pooling primitives (NCHW). deepkern's backward
// takes the forward input rather than a workspace, so the max-pooling backward re-runs the
// training forward to get oneDNN's workspace (pooling is cheap next to the convolutions around
// it). Average pooling excludes the padding or, with count_include_pad, includes it, as the
// reference does; asymmetric padding is oneDNN's padding_r. Cached per shape and threads.
#include "core/error.h"
#include "core/train_ops.h"
#include "engine.h"

#include <omp.h>

#include <array>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>

namespace dk {

namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;

using Key = std::array<int64_t, 15>;

Key key_of(const dk_pool2d_desc &d) {
    return {d.alg, d.n, d.c, d.h, d.w, d.kernel_h, d.kernel_w, d.stride_h, d.stride_w, d.pad_h, d.pad_w, d.pad_h_end,
            d.pad_w_end, d.count_include_pad, omp_get_max_threads()};
}

struct Prims {
    dnnl::pooling_forward::primitive_desc fwd_pd;
    dnnl::pooling_forward fwd;
    dnnl::pooling_backward bwd;
    memory::desc src, dst;
};

Prims make(const dk_pool2d_desc &d, int64_t oh, int64_t ow) {
    const algorithm alg = d.alg == DK_POOL_MAX     ? algorithm::pooling_max
                          : d.count_include_pad ? algorithm::pooling_avg_include_padding
                                                : algorithm::pooling_avg_exclude_padding;
    const memory::desc src({d.n, d.c, d.h, d.w}, memory::data_type::f32, memory::format_tag::nchw);
    const memory::desc dst({d.n, d.c, oh, ow}, memory::data_type::f32, memory::format_tag::nchw);
    const memory::dims strides{d.stride_h, d.stride_w}, kernel{d.kernel_h, d.kernel_w}, dilation{0, 0},
            pad{d.pad_h, d.pad_w}, pad_end{d.pad_h_end, d.pad_w_end};
    dnnl::pooling_forward::primitive_desc fpd(onednn::engine(), prop_kind::forward_training, alg, src, dst, strides, kernel,
                                              dilation, pad, pad_end);
    dnnl::pooling_backward::primitive_desc bpd(onednn::engine(), alg, src, dst, strides, kernel, dilation, pad, pad_end, fpd);
    return {fpd, dnnl::pooling_forward(fpd), dnnl::pooling_backward(bpd), src, dst};
}

const Prims &prims(const Pool2dArgs &a) {
    static std::map<Key, Prims> cache;
    static std::mutex mutex;
    const Key key = key_of(a.d);
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    if (cache.size() > 256) cache.clear();
    return cache.emplace(key, make(a.d, a.oh, a.ow)).first->second;
}

memory mem(const memory::desc &md, const float *p) {
    return memory(md, onednn::engine(), const_cast<float *>(p));
}

void pool_forward_onednn(const Pool2dArgs &a) {
    const Prims p = prims(a); // a copy: primitives are reference-counted handles
    dnnl::stream &s = onednn::stream();
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, mem(p.src, a.x)}, {DNNL_ARG_DST, mem(p.dst, a.y)}};
    memory ws;
    if (a.d.alg == DK_POOL_MAX) {
        ws = memory(p.fwd_pd.workspace_desc(), onednn::engine());
        args.emplace(DNNL_ARG_WORKSPACE, ws);
    }
    p.fwd.execute(s, args);
    s.wait();
}

void pool_backward_onednn(const Pool2dArgs &a) {
    const Prims p = prims(a);
    dnnl::stream &s = onednn::stream();
    std::unordered_map<int, memory> args = {{DNNL_ARG_DIFF_DST, mem(p.dst, a.x)}, {DNNL_ARG_DIFF_SRC, mem(p.src, a.y)}};
    if (a.d.alg == DK_POOL_MAX) {
        memory ws(p.fwd_pd.workspace_desc(), onednn::engine()), y(p.dst, onednn::engine());
        p.fwd.execute(s, {{DNNL_ARG_SRC, mem(p.src, a.x2)}, {DNNL_ARG_DST, y}, {DNNL_ARG_WORKSPACE, ws}});
        args.emplace(DNNL_ARG_WORKSPACE, ws);
    }
    p.bwd.execute(s, args);
    s.wait();
}

bool all(const dk_pool2d_desc &) { return true; }

} // namespace

extern const Pool2dImpl pool2d_forward_onednn_impl = {"onednn", all, pool_forward_onednn};
extern const Pool2dImpl pool2d_backward_onednn_impl = {"onednn", all, pool_backward_onednn};

} // namespace dk
