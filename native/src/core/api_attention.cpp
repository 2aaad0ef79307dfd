// dk_attention_forward / dk_attention_backward: validate once, take a thread lease, and run the
// first implementation of the backend that supports the descriptor.
#include "attention.h"
#include "backend.h"
#include "error.h"
#include "threading.h"

namespace dk {

namespace {

const AttentionImpl &pick(dk_backend backend, const dk_attention_desc &d) {
    for (const AttentionImpl *impl : attention_impls(backend))
        if (impl->supports(d)) return *impl;
    fail_unsupported("attention");
}

} // namespace

} // namespace dk

extern "C" dk_status dk_attention_forward(dk_backend backend, const dk_attention_desc *desc, float *out,
                                          int64_t out_len, float *lse, int64_t lse_len, const float *q,
                                          int64_t q_len, const float *k, int64_t k_len, const float *v,
                                          int64_t v_len, const int32_t *key_lens, int64_t key_lens_len) {
    return dk::guarded([&] {
        dk::check_attention_forward(desc, out, out_len, lse, lse_len, q, q_len, k, k_len, v, v_len, key_lens,
                                    key_lens_len);
        const dk::AttentionImpl &impl = dk::pick(backend, *desc);
        dk::ThreadLease lease;
        impl.forward({*desc, out, lse, q, k, v, key_lens});
    });
}

extern "C" dk_status dk_attention_backward(dk_backend backend, const dk_attention_desc *desc, float *dq,
                                           int64_t dq_len, float *dk, int64_t dk_len, float *dv, int64_t dv_len,
                                           const float *dout, int64_t dout_len, const float *q, int64_t q_len,
                                           const float *k, int64_t k_len, const float *v, int64_t v_len,
                                           const float *out, int64_t out_len, const float *lse, int64_t lse_len,
                                           const int32_t *key_lens, int64_t key_lens_len) {
    return dk::guarded([&] {
        dk::check_attention_backward(desc, dq, dq_len, dk, dk_len, dv, dv_len, dout, dout_len, q, q_len, k, k_len,
                                     v, v_len, out, out_len, lse, lse_len, key_lens, key_lens_len);
        const dk::AttentionImpl &impl = dk::pick(backend, *desc);
        dk::ThreadLease lease;
        impl.backward({*desc, dq, dk, dv, dout, q, k, v, out, lse, key_lens});
    });
}

extern "C" const char *dk_attention_impl_name(dk_backend backend, const dk_attention_desc *desc) {
    const char *name = nullptr;
    dk::guarded([&] {
        dk::check_attention_desc(desc);
        name = dk::pick(backend, *desc).name;
    });
    return name;
}
