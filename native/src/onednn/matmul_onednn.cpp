// matmul through oneDNN's matmul primitive. Transposes and leading dimensions are expressed as
// strides of plain memory descriptors; alpha is an eltwise_linear post-op and beta a sum post-op,
// so C = alpha * op(A) * op(B) + beta * C in one primitive. Primitives are cached per descriptor
// and thread count (oneDNN's OpenMP kernels are built for the team size they were created with).
#include "core/error.h"
#include "core/matmul.h"
#include "engine.h"

#include <omp.h>

#include <cstring>
#include <list>
#include <mutex>
#include <unordered_map>

namespace dk {

namespace {

using dnnl::memory;

struct Key {
    dk_matmul_desc d;
    int threads;
    bool operator==(const Key &o) const { return std::memcmp(this, &o, sizeof(Key)) == 0; }
};

// FNV-1a over the bytes of a key (keys are memset to 0 first, so padding compares equal).
struct KeyHash {
    template <class K>
    size_t operator()(const K &k) const {
        const unsigned char *p = reinterpret_cast<const unsigned char *>(&k);
        size_t h = 1469598103934665603ull;
        for (size_t i = 0; i < sizeof(K); ++i) h = (h ^ p[i]) * 1099511628211ull;
        return h;
    }
};

Key make_key(const dk_matmul_desc &d) {
    Key k;
    std::memset(&k, 0, sizeof k); // padding bytes take part in hashing and comparison
    k.d.m = d.m, k.d.n = d.n, k.d.k = d.k;
    k.d.trans_a = d.trans_a, k.d.trans_b = d.trans_b;
    k.d.lda = d.lda, k.d.ldb = d.ldb, k.d.ldc = d.ldc;
    k.d.alpha = d.alpha, k.d.beta = d.beta;
    k.threads = omp_get_max_threads();
    return k;
}

// A primitive with the (plain, strided) memory descriptors it was created for.
struct Entry {
    dnnl::matmul prim;
    memory::desc a, b, c;
};

Entry create(const dk_matmul_desc &d) {
    const memory::dims a_strides = d.trans_a ? memory::dims{1, d.lda} : memory::dims{d.lda, 1};
    const memory::dims b_strides = d.trans_b ? memory::dims{1, d.ldb} : memory::dims{d.ldb, 1};
    const memory::desc a_md({d.m, d.k}, memory::data_type::f32, a_strides);
    const memory::desc b_md({d.k, d.n}, memory::data_type::f32, b_strides);
    const memory::desc c_md({d.m, d.n}, memory::data_type::f32, memory::dims{d.ldc, 1});
    dnnl::post_ops ops;
    if (d.alpha != 1.0f) ops.append_eltwise(dnnl::algorithm::eltwise_linear, d.alpha, 0.0f);
    if (d.beta != 0.0f) ops.append_sum(d.beta);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    return {dnnl::matmul(dnnl::matmul::primitive_desc(onednn::engine(), a_md, b_md, c_md, attr)), a_md, b_md, c_md};
}

struct KeyEqual {
    template <class K>
    bool operator()(const K &x, const K &y) const {
        return std::memcmp(&x, &y, sizeof(K)) == 0;
    }
};

// A small LRU cache of primitives.
template <class Key, class Entry>
class Cache {
public:
    template <class Create>
    Entry get(const Key &key, Create create) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = index_.find(key);
            if (it != index_.end()) {
                order_.splice(order_.begin(), order_, it->second);
                return it->second->second;
            }
        }
        Entry p = create(); // outside the lock: creation can take milliseconds
        std::lock_guard<std::mutex> lock(mutex_);
        if (index_.count(key)) return p;
        order_.emplace_front(key, p);
        index_[key] = order_.begin();
        if (order_.size() > capacity) {
            index_.erase(order_.back().first);
            order_.pop_back();
        }
        return p;
    }

private:
    static constexpr size_t capacity = 256;
    std::mutex mutex_;
    std::list<std::pair<Key, Entry>> order_;
    std::unordered_map<Key, typename std::list<std::pair<Key, Entry>>::iterator, KeyHash, KeyEqual> index_;
};

void matmul_onednn_run(const MatmulArgs &x) {
    static Cache<Key, Entry> cache;
    const dk_matmul_desc &d = x.d;
    const Entry e = cache.get(make_key(d), [&] { return create(d); });
    const dnnl::engine &eng = onednn::engine();
    memory a(e.a, eng, const_cast<float *>(x.a));
    memory b(e.b, eng, const_cast<float *>(x.b));
    memory c(e.c, eng, x.c);
    dnnl::stream &s = onednn::stream();
    e.prim.execute(s, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    s.wait();
}

} // namespace

extern const MatmulImpl matmul_onednn = {"onednn", [](const dk_matmul_desc &) { return true; },
                                         matmul_onednn_run};

// ---- batched matmul with a fused epilogue ------------------------------------------------------
// 3-D memory descriptors (batch, rows, columns) with the batch strides; a stride of 0 becomes a
// broadcast batch dimension of 1. The bias is oneDNN's bias argument ({1, 1, n}), beta a sum
// post-op and the activation an eltwise post-op: dst = act(A B + bias + beta C). alpha would have
// to be an eltwise_linear post-op, which would scale the bias too, so alpha != 1 with a bias is
// left to the reference, as is a batch that shares both A and B.

namespace {

struct BatchedKey {
    dk_matmul_batched_desc d;
    int has_bias;
    int threads;
};

struct BatchedEntry {
    dnnl::matmul prim;
    memory::desc a, b, c, bias;
};

BatchedEntry create_batched(const dk_matmul_batched_desc &d, bool has_bias) {
    const dk_matmul_desc &mm = d.mm;
    // A batch dimension: the batch with its stride, or 1 (broadcast) for stride 0.
    auto batch_of = [&](int64_t stride) { return stride == 0 ? int64_t(1) : d.batch; };
    auto stride_of = [&](int64_t stride, int64_t one) { return stride == 0 ? one : stride; };
    const int64_t ba = batch_of(d.stride_a), bb = batch_of(d.stride_b);
    const int64_t a_one = (mm.trans_a ? mm.k : mm.m) * mm.lda, b_one = (mm.trans_b ? mm.n : mm.k) * mm.ldb;
    const memory::dims a_strides = mm.trans_a ? memory::dims{stride_of(d.stride_a, a_one), 1, mm.lda}
                                              : memory::dims{stride_of(d.stride_a, a_one), mm.lda, 1};
    const memory::dims b_strides = mm.trans_b ? memory::dims{stride_of(d.stride_b, b_one), 1, mm.ldb}
                                              : memory::dims{stride_of(d.stride_b, b_one), mm.ldb, 1};
    const memory::desc a_md({ba, mm.m, mm.k}, memory::data_type::f32, a_strides);
    const memory::desc b_md({bb, mm.k, mm.n}, memory::data_type::f32, b_strides);
    const memory::desc c_md({d.batch, mm.m, mm.n}, memory::data_type::f32,
                            memory::dims{stride_of(d.stride_c, mm.m * mm.ldc), mm.ldc, 1});
    const memory::desc bias_md =
        has_bias ? memory::desc({1, 1, mm.n}, memory::data_type::f32, memory::dims{mm.n, mm.n, 1}) : memory::desc();
    dnnl::post_ops ops;
    if (mm.alpha != 1.0f) ops.append_eltwise(dnnl::algorithm::eltwise_linear, mm.alpha, 0.0f);
    if (mm.beta != 0.0f) ops.append_sum(mm.beta);
    if (d.activation == DK_ACTIVATION_RELU) ops.append_eltwise(dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    if (d.activation == DK_ACTIVATION_GELU) ops.append_eltwise(dnnl::algorithm::eltwise_gelu_tanh, 0.0f, 0.0f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    return {dnnl::matmul(dnnl::matmul::primitive_desc(onednn::engine(), a_md, b_md, bias_md, c_md, attr)), a_md, b_md,
            c_md, bias_md};
}

void matmul_batched_onednn_run(const MatmulBatchedArgs &x) {
    static Cache<BatchedKey, BatchedEntry> cache;
    BatchedKey key;
    std::memset(&key, 0, sizeof key);
    key.d.mm = make_key(x.d.mm).d; // the descriptor's fields without its padding bytes
    key.d.batch = x.d.batch, key.d.stride_a = x.d.stride_a, key.d.stride_b = x.d.stride_b;
    key.d.stride_c = x.d.stride_c, key.d.activation = x.d.activation;
    key.has_bias = x.bias != nullptr;
    key.threads = omp_get_max_threads();
    const BatchedEntry e = cache.get(key, [&] { return create_batched(x.d, x.bias != nullptr); });
    const dnnl::engine &eng = onednn::engine();
    memory a(e.a, eng, const_cast<float *>(x.a));
    memory b(e.b, eng, const_cast<float *>(x.b));
    memory c(e.c, eng, x.c);
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}};
    if (x.bias) args.emplace(DNNL_ARG_BIAS, memory(e.bias, eng, const_cast<float *>(x.bias)));
    dnnl::stream &s = onednn::stream();
    e.prim.execute(s, args);
    s.wait();
}

} // namespace

extern const MatmulBatchedImpl matmul_batched_onednn = {
    "onednn",
    [](const dk_matmul_batched_desc &d, bool has_bias) {
        // oneDNN broadcasts the batch of A or of B, not of both at once
        const bool both_shared = d.batch > 1 && d.stride_a == 0 && d.stride_b == 0;
        return !(has_bias && d.mm.alpha != 1.0f) && !both_shared;
    },
    matmul_batched_onednn_run};

} // namespace dk
