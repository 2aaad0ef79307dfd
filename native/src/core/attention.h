// attention: the shape function, the implementation interface, and the registry's lists.
#pragma once

#include "deepkern.h"

#include <cstdint>
#include <vector>

namespace dk {

// Buffers of a validated forward call. Every implementation may assume what check_attention
// established: every size >= 1, kv_heads divides q_heads, head_dim <= 256, 0 <= dropout < 1,
// each buffer holds its whole contiguous tensor, key_lens (when not null) holds batch values in
// [1, kv_seq], and no output overlaps another output or an input. lse may be null.
struct AttentionForwardArgs {
    const dk_attention_desc &d;
    float *out;   // [batch, q_heads, q_seq, head_dim]
    float *lse;   // [batch, q_heads, q_seq], or null
    const float *q; // [batch, q_heads, q_seq, head_dim]
    const float *k; // [batch, kv_heads, kv_seq, head_dim]
    const float *v; // [batch, kv_heads, kv_seq, head_dim]
    const int32_t *key_lens; // [batch], or null
};

// Buffers of a validated backward call (same guarantees; lse is never null here).
struct AttentionBackwardArgs {
    const dk_attention_desc &d;
    float *dq, *dk, *dv;     // shaped like q, k, v; overwritten
    const float *dout;       // shaped like out
    const float *q, *k, *v;
    const float *out, *lse;  // the forward's results
    const int32_t *key_lens; // [batch], or null
};

struct AttentionImpl {
    const char *name;
    bool (*supports)(const dk_attention_desc &d);
    void (*forward)(const AttentionForwardArgs &args);   // throws dk::Error on failure
    void (*backward)(const AttentionBackwardArgs &args); // throws dk::Error on failure
};

// The shape functions: throw dk::Error naming the argument that is wrong.
void check_attention_forward(const dk_attention_desc *d, const float *out, int64_t out_len, const float *lse,
                             int64_t lse_len, const float *q, int64_t q_len, const float *k, int64_t k_len,
                             const float *v, int64_t v_len, const int32_t *key_lens, int64_t key_lens_len);
void check_attention_backward(const dk_attention_desc *d, const float *dq, int64_t dq_len, const float *dk,
                              int64_t dk_len, const float *dv, int64_t dv_len, const float *dout, int64_t dout_len,
                              const float *q, int64_t q_len, const float *k, int64_t k_len, const float *v,
                              int64_t v_len, const float *out, int64_t out_len, const float *lse, int64_t lse_len,
                              const int32_t *key_lens, int64_t key_lens_len);
// The descriptor alone (for dk_attention_impl_name).
void check_attention_desc(const dk_attention_desc *d);

const std::vector<const AttentionImpl *> &attention_impls(dk_backend backend);

// The number of keys query i of batch b sees: keys [0, attention_key_end(...)) are valid.
inline int64_t attention_key_end(const dk_attention_desc &d, const int32_t *key_lens, int64_t b, int64_t i) {
    int64_t end = key_lens ? key_lens[b] : d.kv_seq;
    if (d.causal && i + 1 < end) end = i + 1;
    return end;
}

} // namespace dk
