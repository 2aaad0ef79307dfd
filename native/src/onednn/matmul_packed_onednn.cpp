// B packed once for oneDNN (dk_matmul_pack_b with DK_BACKEND_ONEDNN): the baseline "oneDNN's
// matmul with pre-packed weights". At packing time a matmul primitive descriptor for m x k times
// k x n with the weights' format_tag::any tells which blocked layout oneDNN's kernel wants for
// that m; B is reordered into it once. Each product then runs a matmul primitive created for the
// packed layout (cached per descriptor, epilogue and team size on the packed matrix itself).
// The epilogue is oneDNN's: bias argument, alpha as eltwise_linear (so not with a bias, which it
// would scale too), beta as a sum post-op and the activation as an eltwise post-op.
#include "core/error.h"
#include "core/matmul.h"
#include "engine.h"

#include <omp.h>

#include <mutex>
#include <unordered_map>
#include <vector>

namespace dk {

using dnnl::memory;

struct OnednnPackedB {
    struct Key {
        int64_t m, lda, ldc;
        int32_t trans_a, has_bias, activation, threads;
        float alpha, beta;
        bool operator==(const Key &o) const {
            return m == o.m && lda == o.lda && ldc == o.ldc && trans_a == o.trans_a && has_bias == o.has_bias &&
                   activation == o.activation && threads == o.threads && alpha == o.alpha && beta == o.beta;
        }
    };
    struct Entry {
        Key key;
        dnnl::matmul prim;
        memory::desc a, c, bias;
    };

    int64_t m_packed, k, n;
    memory weights; // B in the layout oneDNN chose for m_packed rows
    std::mutex mutex;
    std::vector<Entry> primitives; // a handful: one per descriptor the packed B is used with
};

namespace {

memory::desc row_major(int64_t rows, int64_t cols, int64_t ld, bool trans) {
    return memory::desc({rows, cols}, memory::data_type::f32, trans ? memory::dims{1, ld} : memory::dims{ld, 1});
}

OnednnPackedB::Entry create(const OnednnPackedB &p, const OnednnPackedB::Key &key) {
    const memory::desc a_md = row_major(key.m, p.k, key.lda, key.trans_a != 0);
    const memory::desc c_md = row_major(key.m, p.n, key.ldc, false);
    const memory::desc bias_md =
        key.has_bias ? memory::desc({1, p.n}, memory::data_type::f32, memory::dims{p.n, 1}) : memory::desc();
    dnnl::post_ops ops;
    if (key.alpha != 1.0f) ops.append_eltwise(dnnl::algorithm::eltwise_linear, key.alpha, 0.0f);
    if (key.beta != 0.0f) ops.append_sum(key.beta);
    if (key.activation == DK_ACTIVATION_RELU) ops.append_eltwise(dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    if (key.activation == DK_ACTIVATION_GELU) ops.append_eltwise(dnnl::algorithm::eltwise_gelu_tanh, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    try {
        dnnl::matmul::primitive_desc pd(onednn::engine(), a_md, p.weights.get_desc(), bias_md, c_md, attr);
        return {key, dnnl::matmul(pd), a_md, c_md, bias_md};
    } catch (const dnnl::error &) {
        fail(DK_UNSUPPORTED, format("oneDNN has no matmul for m = %lld with b packed for m = %lld (pack b for this m)",
                                    (long long)key.m, (long long)p.m_packed));
    }
}

} // namespace

OnednnPackedB *onednn_pack_b(int64_t m, int64_t k, int64_t n, bool trans_b, const float *b, int64_t ldb) {
    const dnnl::engine &eng = onednn::engine();
    const memory::desc plain = row_major(k, n, ldb, trans_b);
    const memory::desc any({k, n}, memory::data_type::f32, memory::format_tag::any);
    const dnnl::matmul::primitive_desc pd(eng, row_major(m, k, k, false), any, row_major(m, n, n, false));
    auto *p = new OnednnPackedB;
    p->m_packed = m, p->k = k, p->n = n;
    try {
        p->weights = memory(pd.weights_desc(), eng); // owns its buffer
        memory src(plain, eng, const_cast<float *>(b));
        dnnl::stream &s = onednn::stream();
        dnnl::reorder(src, p->weights).execute(s, src, p->weights);
        s.wait();
    } catch (...) {
        delete p;
        throw;
    }
    return p;
}

void onednn_matmul_packed_b(OnednnPackedB &p, const dk_matmul_desc &d, float *c, const float *a, const float *bias,
                            int32_t activation) {
    if (bias && d.alpha != 1.0f)
        fail(DK_UNSUPPORTED, "a b packed for oneDNN takes alpha != 1 only without a bias (oneDNN would scale the bias)");
    const OnednnPackedB::Key key{d.m, d.lda, d.ldc, d.trans_a, bias != nullptr, activation, omp_get_max_threads(),
                                 d.alpha, d.beta};
    OnednnPackedB::Entry entry;
    {
        std::lock_guard<std::mutex> lock(p.mutex); // creation (milliseconds, once) also under the lock
        const OnednnPackedB::Entry *e = nullptr;
        for (const auto &x : p.primitives)
            if (x.key == key) e = &x;
        if (!e) {
            if (p.primitives.size() >= 16) p.primitives.clear(); // bounded
            p.primitives.push_back(create(p, key));
            e = &p.primitives.back();
        }
        entry = *e; // a copy shares the primitive
    }
    const dnnl::engine &eng = onednn::engine();
    memory am(entry.a, eng, const_cast<float *>(a));
    memory cm(entry.c, eng, c);
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, p.weights}, {DNNL_ARG_DST, cm}};
    if (bias) args.emplace(DNNL_ARG_BIAS, memory(entry.bias, eng, const_cast<float *>(bias)));
    dnnl::stream &s = onednn::stream();
    entry.prim.execute(s, args);
    s.wait();
}

void onednn_packed_b_free(OnednnPackedB *p) { delete p; }

} // namespace dk
