// The shape functions of attention: sizes, limits, overflow, every buffer against its tensor,
// key lengths, and no output overlapping anything else. Run once before any implementation.
#include "attention.h"
#include "error.h"

#include <cmath>

namespace dk {

namespace {

constexpr int64_t max_head_dim = 256;

void positive(const char *name, int64_t v) {
    if (v < 1) fail(DK_INVALID_ARGUMENT, format("%s must be >= 1, got %lld", name, (long long)v));
}

// a * b * ... with a check against 64-bit overflow.
int64_t product(const char *what, std::initializer_list<int64_t> dims) {
    int64_t n = 1;
    for (int64_t x : dims)
        if (__builtin_mul_overflow(n, x, &n))
            fail(DK_INVALID_ARGUMENT, format("the %s tensor's element count overflows a 64-bit size", what));
    return n;
}

template <class T>
void check_buffer(const char *name, const T *p, int64_t len, int64_t needed) {
    if (len < 0) fail(DK_INVALID_ARGUMENT, format("%s_len must be >= 0, got %lld", name, (long long)len));
    if (!p) fail(DK_NULL_POINTER, format("%s must not be null", name));
    if (len < needed)
        fail(DK_INVALID_ARGUMENT, format("%s needs %lld elements for its shape, but its buffer holds %lld", name,
                                         (long long)needed, (long long)len));
}

struct Span {
    const char *name;
    const void *p;
    int64_t bytes;
};

bool overlap(const Span &a, const Span &b) {
    if (!a.p || !b.p || a.bytes == 0 || b.bytes == 0) return false;
    const char *x = static_cast<const char *>(a.p), *y = static_cast<const char *>(b.p);
    return x < y + b.bytes && y < x + a.bytes;
}

// Outputs must not overlap each other or any input.
void check_no_overlap(std::initializer_list<Span> outputs, std::initializer_list<Span> inputs) {
    for (auto o = outputs.begin(); o != outputs.end(); ++o) {
        for (auto p = o + 1; p != outputs.end(); ++p)
            if (overlap(*o, *p)) fail(DK_INVALID_ARGUMENT, format("%s must not overlap %s", o->name, p->name));
        for (const Span &i : inputs)
            if (overlap(*o, i)) fail(DK_INVALID_ARGUMENT, format("%s must not overlap %s", o->name, i.name));
    }
}

struct Sizes {
    int64_t q, kv, lse;
};

Sizes sizes(const dk_attention_desc &d) {
    return {product("q", {d.batch, d.q_heads, d.q_seq, d.head_dim}),
            product("k", {d.batch, d.kv_heads, d.kv_seq, d.head_dim}), product("lse", {d.batch, d.q_heads, d.q_seq})};
}

void check_key_lens(const dk_attention_desc &d, const int32_t *key_lens, int64_t key_lens_len) {
    if (!key_lens) {
        if (key_lens_len != 0)
            fail(DK_NULL_POINTER, format("key_lens is null but key_lens_len is %lld", (long long)key_lens_len));
        return;
    }
    check_buffer("key_lens", key_lens, key_lens_len, d.batch);
    for (int64_t b = 0; b < d.batch; ++b)
        if (key_lens[b] < 1 || key_lens[b] > d.kv_seq)
            fail(DK_INVALID_ARGUMENT, format("key_lens[%lld] must be in [1, kv_seq = %lld], got %d", (long long)b,
                                             (long long)d.kv_seq, key_lens[b]));
}

} // namespace

void check_attention_desc(const dk_attention_desc *d) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    positive("batch", d->batch);
    positive("q_heads", d->q_heads);
    positive("kv_heads", d->kv_heads);
    positive("q_seq", d->q_seq);
    positive("kv_seq", d->kv_seq);
    positive("head_dim", d->head_dim);
    if (d->q_heads % d->kv_heads != 0)
        fail(DK_INVALID_ARGUMENT, format("kv_heads (%lld) must divide q_heads (%lld)", (long long)d->kv_heads,
                                         (long long)d->q_heads));
    if (d->head_dim > max_head_dim)
        fail(DK_INVALID_ARGUMENT, format("head_dim must be <= %lld, got %lld", (long long)max_head_dim,
                                         (long long)d->head_dim));
    if (!std::isfinite(d->scale)) fail(DK_INVALID_ARGUMENT, format("scale must be finite, got %g", d->scale));
    if (d->causal != 0 && d->causal != 1) fail(DK_INVALID_ARGUMENT, format("causal must be 0 or 1, got %d", d->causal));
    if (!(d->dropout >= 0.0f && d->dropout < 1.0f))
        fail(DK_INVALID_ARGUMENT, format("dropout must be in [0, 1), got %g", d->dropout));
    sizes(*d); // overflow
}

void check_attention_forward(const dk_attention_desc *d, const float *out, int64_t out_len, const float *lse,
                             int64_t lse_len, const float *q, int64_t q_len, const float *k, int64_t k_len,
                             const float *v, int64_t v_len, const int32_t *key_lens, int64_t key_lens_len) {
    check_attention_desc(d);
    const Sizes n = sizes(*d);
    check_buffer("out", out, out_len, n.q);
    if (lse || lse_len != 0) check_buffer("lse", lse, lse_len, n.lse);
    check_buffer("q", q, q_len, n.q);
    check_buffer("k", k, k_len, n.kv);
    check_buffer("v", v, v_len, n.kv);
    check_key_lens(*d, key_lens, key_lens_len);
    const int64_t f = sizeof(float);
    check_no_overlap({{"out", out, n.q * f}, {"lse", lse, lse ? n.lse * f : 0}},
                     {{"q", q, n.q * f}, {"k", k, n.kv * f}, {"v", v, n.kv * f},
                      {"key_lens", key_lens, key_lens ? d->batch * 4 : 0}});
}

void check_attention_backward(const dk_attention_desc *d, const float *dq, int64_t dq_len, const float *dk,
                              int64_t dk_len, const float *dv, int64_t dv_len, const float *dout, int64_t dout_len,
                              const float *q, int64_t q_len, const float *k, int64_t k_len, const float *v,
                              int64_t v_len, const float *out, int64_t out_len, const float *lse, int64_t lse_len,
                              const int32_t *key_lens, int64_t key_lens_len) {
    check_attention_desc(d);
    const Sizes n = sizes(*d);
    check_buffer("dq", dq, dq_len, n.q);
    check_buffer("dk", dk, dk_len, n.kv);
    check_buffer("dv", dv, dv_len, n.kv);
    check_buffer("dout", dout, dout_len, n.q);
    check_buffer("q", q, q_len, n.q);
    check_buffer("k", k, k_len, n.kv);
    check_buffer("v", v, v_len, n.kv);
    check_buffer("out", out, out_len, n.q);
    check_buffer("lse", lse, lse_len, n.lse);
    check_key_lens(*d, key_lens, key_lens_len);
    const int64_t f = sizeof(float);
    check_no_overlap({{"dq", dq, n.q * f}, {"dk", dk, n.kv * f}, {"dv", dv, n.kv * f}},
                     {{"dout", dout, n.q * f}, {"q", q, n.q * f}, {"k", k, n.kv * f}, {"v", v, n.kv * f},
                      {"out", out, n.q * f}, {"lse", lse, n.lse * f},
                      {"key_lens", key_lens, key_lens ? d->batch * 4 : 0}});
}

} // namespace dk
