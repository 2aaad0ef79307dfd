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

struct KeyHash {
    size_t operator()(const Key &k) const {
        const unsigned char *p = reinterpret_cast<const unsigned char *>(&k);
        size_t h = 1469598103934665603ull;
        for (size_t i = 0; i < sizeof(Key); ++i) h = (h ^ p[i]) * 1099511628211ull;
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

// A small LRU cache of primitives.
class Cache {
public:
    Entry get(const dk_matmul_desc &d) {
        const Key key = make_key(d);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = index_.find(key);
            if (it != index_.end()) {
                order_.splice(order_.begin(), order_, it->second);
                return it->second->second;
            }
        }
        Entry p = create(d); // outside the lock: creation can take milliseconds
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
    std::unordered_map<Key, std::list<std::pair<Key, Entry>>::iterator, KeyHash> index_;
};

void matmul_onednn_run(const MatmulArgs &x) {
    static Cache cache;
    const dk_matmul_desc &d = x.d;
    const Entry e = cache.get(d);
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

} // namespace dk
