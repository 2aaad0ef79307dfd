// Activations and softmax through oneDNN's eltwise and softmax primitives (forward and backward),
// on dense 1-D ([n]) and 2-D ([rows, cols], softmax over the columns) plain layouts. Primitives
// are cached per descriptor and thread count, as matmul's are. DK_ELTWISE_RSQRT has no oneDNN
// algorithm here and falls through to the reference.
#include "core/error.h"
#include "core/train_ops.h"
#include "engine.h"

#include <omp.h>

#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>

namespace dk {

namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;

bool eltwise_algorithm(int alg, algorithm *out) {
    switch (alg) {
    case DK_ELTWISE_RELU:
    case DK_ELTWISE_LEAKY_RELU: *out = algorithm::eltwise_relu; return true;
    case DK_ELTWISE_SIGMOID: *out = algorithm::eltwise_logistic; return true;
    case DK_ELTWISE_TANH: *out = algorithm::eltwise_tanh; return true;
    case DK_ELTWISE_GELU: *out = algorithm::eltwise_gelu_erf; return true;
    case DK_ELTWISE_SOFTPLUS: *out = algorithm::eltwise_soft_relu; return true;
    default: return false;
    }
}

// alpha of the oneDNN algorithm: ReLU's negative slope (0 for plain ReLU), soft_relu's 1.
float eltwise_alpha(const dk_eltwise_desc &d) {
    if (d.alg == DK_ELTWISE_LEAKY_RELU) return d.alpha;
    if (d.alg == DK_ELTWISE_SOFTPLUS) return 1.0f;
    return 0.0f;
}

// A small cache: primitives keyed by (kind, sizes, algorithm, alpha bits, thread count), cleared
// when it grows past a few hundred entries.
template <class P>
class Cache {
public:
    using Key = std::tuple<int, int64_t, int64_t, int, uint32_t, int>;

    template <class Make>
    P get(const Key &key, Make make) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = map_.find(key);
            if (it != map_.end()) return it->second;
        }
        P p = make();
        std::lock_guard<std::mutex> lock(mutex_);
        if (map_.size() > 256) map_.clear();
        map_.emplace(key, p);
        return p;
    }

private:
    std::mutex mutex_;
    std::map<Key, P> map_;
};

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

void run(const dnnl::primitive &p, std::unordered_map<int, memory> args) {
    dnnl::stream &s = onednn::stream();
    p.execute(s, args);
    s.wait();
}

void eltwise_forward_onednn(const EltwiseArgs &a) {
    static Cache<dnnl::eltwise_forward> cache;
    algorithm alg;
    eltwise_algorithm(a.d.alg, &alg);
    const float alpha = eltwise_alpha(a.d);
    const memory::desc md({a.d.n}, memory::data_type::f32, memory::format_tag::a);
    auto prim = cache.get({0, a.d.n, 0, a.d.alg, bits(alpha), omp_get_max_threads()}, [&] {
        return dnnl::eltwise_forward(
                dnnl::eltwise_forward::primitive_desc(onednn::engine(), prop_kind::forward_training, alg, md, md, alpha, 0.0f));
    });
    const dnnl::engine &eng = onednn::engine();
    run(prim, {{DNNL_ARG_SRC, memory(md, eng, const_cast<float *>(a.x))}, {DNNL_ARG_DST, memory(md, eng, a.y)}});
}

void eltwise_backward_onednn(const EltwiseArgs &a) {
    static Cache<dnnl::eltwise_backward> cache;
    algorithm alg;
    eltwise_algorithm(a.d.alg, &alg);
    const float alpha = eltwise_alpha(a.d);
    const memory::desc md({a.d.n}, memory::data_type::f32, memory::format_tag::a);
    auto prim = cache.get({1, a.d.n, 0, a.d.alg, bits(alpha), omp_get_max_threads()}, [&] {
        dnnl::eltwise_forward::primitive_desc hint(onednn::engine(), prop_kind::forward_training, alg, md, md, alpha, 0.0f);
        return dnnl::eltwise_backward(dnnl::eltwise_backward::primitive_desc(onednn::engine(), alg, md, md, md, alpha, 0.0f, hint));
    });
    const dnnl::engine &eng = onednn::engine();
    run(prim, {{DNNL_ARG_SRC, memory(md, eng, const_cast<float *>(a.x2))},
               {DNNL_ARG_DIFF_DST, memory(md, eng, const_cast<float *>(a.x))},
               {DNNL_ARG_DIFF_SRC, memory(md, eng, a.y)}});
}

void softmax_forward_onednn(const SoftmaxArgs &a) {
    static Cache<dnnl::softmax_forward> cache;
    const algorithm alg = a.d.log ? algorithm::softmax_log : algorithm::softmax_accurate;
    const memory::desc md({a.d.rows, a.d.cols}, memory::data_type::f32, memory::format_tag::ab);
    auto prim = cache.get({2, a.d.rows, a.d.cols, a.d.log, 0, omp_get_max_threads()}, [&] {
        return dnnl::softmax_forward(
                dnnl::softmax_forward::primitive_desc(onednn::engine(), prop_kind::forward_training, alg, md, md, 1));
    });
    const dnnl::engine &eng = onednn::engine();
    run(prim, {{DNNL_ARG_SRC, memory(md, eng, const_cast<float *>(a.x))}, {DNNL_ARG_DST, memory(md, eng, a.y)}});
}

void softmax_backward_onednn(const SoftmaxArgs &a) {
    static Cache<dnnl::softmax_backward> cache;
    const algorithm alg = a.d.log ? algorithm::softmax_log : algorithm::softmax_accurate;
    const memory::desc md({a.d.rows, a.d.cols}, memory::data_type::f32, memory::format_tag::ab);
    auto prim = cache.get({3, a.d.rows, a.d.cols, a.d.log, 0, omp_get_max_threads()}, [&] {
        dnnl::softmax_forward::primitive_desc hint(onednn::engine(), prop_kind::forward_training, alg, md, md, 1);
        return dnnl::softmax_backward(dnnl::softmax_backward::primitive_desc(onednn::engine(), alg, md, md, md, 1, hint));
    });
    const dnnl::engine &eng = onednn::engine();
    run(prim, {{DNNL_ARG_DST, memory(md, eng, const_cast<float *>(a.y2))},
               {DNNL_ARG_DIFF_DST, memory(md, eng, const_cast<float *>(a.x))},
               {DNNL_ARG_DIFF_SRC, memory(md, eng, a.y)}});
}

bool eltwise_supported(const dk_eltwise_desc &d) {
    algorithm alg;
    return eltwise_algorithm(d.alg, &alg);
}

bool softmax_supported(const dk_softmax_desc &) { return true; }

} // namespace

extern const EltwiseImpl eltwise_forward_onednn_impl = {"onednn", eltwise_supported, eltwise_forward_onednn};
extern const EltwiseImpl eltwise_backward_onednn_impl = {"onednn", eltwise_supported, eltwise_backward_onednn};
extern const SoftmaxImpl softmax_forward_onednn_impl = {"onednn", softmax_supported, softmax_forward_onednn};
extern const SoftmaxImpl softmax_backward_onednn_impl = {"onednn", softmax_supported, softmax_backward_onednn};

} // namespace dk
