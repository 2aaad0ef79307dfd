// Batch normalization through oneDNN's batch_normalization primitives (forward training and
// inference, backward), on x viewed as [n, c, spatial, 1] in NCHW. oneDNN reports the batch mean
// and (biased) variance; deepkern's ABI keeps the inverse standard deviation for the backward and
// updates the running statistics itself (unbiased variance), so both are converted here, over c
// values. Primitives are cached per shape, mode and thread count.
#include "core/error.h"
#include "core/train_ops.h"
#include "engine.h"

#include <omp.h>

#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>

namespace dk {

namespace {

using dnnl::memory;
using dnnl::normalization_flags;
using dnnl::prop_kind;

using Key = std::tuple<int, int64_t, int64_t, int64_t, float, int>;

template <class P>
P cached(std::map<Key, P> &map, std::mutex &mutex, const Key &key, P (*make)(const Key &)) {
    {
        std::lock_guard<std::mutex> lock(mutex);
        auto it = map.find(key);
        if (it != map.end()) return it->second;
    }
    P p = make(key);
    std::lock_guard<std::mutex> lock(mutex);
    if (map.size() > 256) map.clear();
    map.emplace(key, p);
    return p;
}

memory::desc data_md(const Key &k) {
    return memory::desc({std::get<1>(k), std::get<2>(k), std::get<3>(k), 1}, memory::data_type::f32, memory::format_tag::nchw);
}

memory::desc channel_md(int64_t c) { return memory::desc({c}, memory::data_type::f32, memory::format_tag::a); }

normalization_flags flags(bool training) {
    normalization_flags f = normalization_flags::use_scale | normalization_flags::use_shift;
    return training ? f : f | normalization_flags::use_global_stats;
}

dnnl::batch_normalization_forward::primitive_desc forward_pd(const Key &k) {
    const bool training = std::get<0>(k) == 1;
    const memory::desc md = data_md(k);
    return dnnl::batch_normalization_forward::primitive_desc(
            onednn::engine(), training ? prop_kind::forward_training : prop_kind::forward_inference, md, md, std::get<4>(k),
            flags(training));
}

dnnl::batch_normalization_forward make_forward(const Key &k) { return dnnl::batch_normalization_forward(forward_pd(k)); }

dnnl::batch_normalization_backward make_backward(const Key &k) {
    const memory::desc md = data_md(k);
    Key fk = k;
    std::get<0>(fk) = 1;
    return dnnl::batch_normalization_backward(dnnl::batch_normalization_backward::primitive_desc(
            onednn::engine(), prop_kind::backward, md, md, md, std::get<4>(k), flags(true), forward_pd(fk)));
}

void run(const dnnl::primitive &p, const std::unordered_map<int, memory> &args) {
    dnnl::stream &s = onednn::stream();
    p.execute(s, args);
    s.wait();
}

memory mem(const memory::desc &md, const float *p) {
    return memory(md, onednn::engine(), const_cast<float *>(p));
}

void batchnorm_forward_onednn(const BatchnormArgs &a) {
    static std::map<Key, dnnl::batch_normalization_forward> cache;
    static std::mutex mutex;
    const dk_batchnorm_desc &d = a.d;
    const NormArgs &p = a.p;
    const Key key{d.training, d.n, d.c, d.spatial, d.eps, omp_get_max_threads()};
    const auto prim = cached(cache, mutex, key, make_forward);
    const memory::desc md = data_md(key), cmd = channel_md(d.c);
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, mem(md, p.x)}, {DNNL_ARG_DST, mem(md, p.y)},
                                            {DNNL_ARG_SCALE, mem(cmd, p.gamma)}, {DNNL_ARG_SHIFT, mem(cmd, p.beta)}};
    if (!d.training) {
        args.emplace(DNNL_ARG_MEAN, mem(cmd, p.running_mean));
        args.emplace(DNNL_ARG_VARIANCE, mem(cmd, p.running_var));
        run(prim, args);
        return;
    }
    std::unique_ptr<float[]> var(new float[static_cast<size_t>(d.c)]);
    args.emplace(DNNL_ARG_MEAN, mem(cmd, p.save_mean));
    args.emplace(DNNL_ARG_VARIANCE, mem(cmd, var.get()));
    run(prim, args);
    const double m = static_cast<double>(d.n) * d.spatial;
    for (int64_t c = 0; c < d.c; ++c) {
        p.save_invstd[c] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(var[c]) + d.eps));
        p.running_mean[c] = static_cast<float>((1.0 - d.momentum) * p.running_mean[c] + d.momentum * p.save_mean[c]);
        p.running_var[c] = static_cast<float>((1.0 - d.momentum) * p.running_var[c] + d.momentum * var[c] * m / (m - 1));
    }
}

void batchnorm_backward_onednn(const BatchnormArgs &a) {
    static std::map<Key, dnnl::batch_normalization_backward> cache;
    static std::mutex mutex;
    const dk_batchnorm_desc &d = a.d;
    const NormArgs &p = a.p;
    const Key key{1, d.n, d.c, d.spatial, d.eps, omp_get_max_threads()};
    const auto prim = cached(cache, mutex, key, make_backward);
    const memory::desc md = data_md(key), cmd = channel_md(d.c);
    std::unique_ptr<float[]> var(new float[static_cast<size_t>(d.c)]);
    for (int64_t c = 0; c < d.c; ++c) {
        const double s = p.invstd[c];
        var[c] = static_cast<float>(1.0 / (s * s) - d.eps);
    }
    run(prim, {{DNNL_ARG_SRC, mem(md, p.x)}, {DNNL_ARG_MEAN, mem(cmd, p.mean)}, {DNNL_ARG_VARIANCE, mem(cmd, var.get())},
               {DNNL_ARG_DIFF_DST, mem(md, p.dy)}, {DNNL_ARG_SCALE, mem(cmd, p.gamma)}, {DNNL_ARG_DIFF_SRC, mem(md, p.dx)},
               {DNNL_ARG_DIFF_SCALE, mem(cmd, p.dgamma)}, {DNNL_ARG_DIFF_SHIFT, mem(cmd, p.dbeta)}});
}

bool supported(const dk_batchnorm_desc &d) { return d.n * d.spatial >= 2; }

} // namespace

extern const BatchnormImpl batchnorm_forward_onednn_impl = {"onednn", supported, batchnorm_forward_onednn};
extern const BatchnormImpl batchnorm_backward_onednn_impl = {"onednn", supported, batchnorm_backward_onednn};

} // namespace dk
