// dk_matmul: validate once, handle the degenerate cases every implementation would otherwise
// repeat, take a thread lease, and run the first implementation that supports the descriptor.
#include "backend.h"
#include "error.h"
#include "matmul.h"
#include "threading.h"

namespace dk {

namespace {

const MatmulImpl &pick(dk_backend backend, const dk_matmul_desc &d) {
    for (const MatmulImpl *impl : matmul_impls(backend))
        if (impl->supports(d)) return *impl;
    fail_unsupported("matmul");
}

} // namespace

void scale_c(const dk_matmul_desc &d, float *c) {
    for (int64_t i = 0; i < d.m; ++i) {
        float *row = c + i * d.ldc;
        for (int64_t j = 0; j < d.n; ++j) row[j] = d.beta == 0.0f ? 0.0f : d.beta * row[j];
    }
}

} // namespace dk

extern "C" dk_status dk_matmul(dk_backend backend, const dk_matmul_desc *desc, float *c, int64_t c_len,
                               const float *a, int64_t a_len, const float *b, int64_t b_len) {
    return dk::guarded([&] {
        dk::check_matmul(desc, c, c_len, a, a_len, b, b_len);
        const dk_matmul_desc &d = *desc;
        const dk::MatmulImpl &impl = dk::pick(backend, d); // also checks the backend is available
        if (d.m == 0 || d.n == 0) return;
        // Host-side shortcut; a device C is scaled by the device implementation itself.
        if ((d.k == 0 || d.alpha == 0.0f) && backend != DK_BACKEND_CUDA) {
            dk::scale_c(d, c);
            return;
        }
        dk::ThreadLease lease;
        impl.run({d, c, a, b});
    });
}

extern "C" const char *dk_matmul_impl_name(dk_backend backend, const dk_matmul_desc *desc) {
    const char *name = nullptr;
    dk::guarded([&] {
        if (!desc) dk::fail(DK_NULL_POINTER, "desc must not be null");
        name = dk::pick(backend, *desc).name;
    });
    return name;
}

// ---- dk_matmul_batched ----------------------------------------------------------------------------

namespace dk {
namespace {

const MatmulBatchedImpl &pick_batched(dk_backend backend, const dk_matmul_batched_desc &d, bool has_bias) {
    for (const MatmulBatchedImpl *impl : matmul_batched_impls(backend))
        if (impl->supports(d, has_bias)) return *impl;
    fail_unsupported("batched matmul");
}

} // namespace
} // namespace dk

extern "C" dk_status dk_matmul_batched(dk_backend backend, const dk_matmul_batched_desc *desc, float *c,
                                       int64_t c_len, const float *a, int64_t a_len, const float *b, int64_t b_len,
                                       const float *bias, int64_t bias_len) {
    return dk::guarded([&] {
        dk::check_matmul_batched(desc, c, c_len, a, a_len, b, b_len, bias, bias_len);
        const dk_matmul_batched_desc &d = *desc;
        const dk::MatmulBatchedImpl &impl = dk::pick_batched(backend, d, bias != nullptr);
        const dk_matmul_desc &mm = d.mm;
        if (d.batch == 0 || mm.m == 0 || mm.n == 0) return;
        if ((mm.k == 0 || mm.alpha == 0.0f) && backend != DK_BACKEND_CUDA) { // C = act(beta * C + bias)
            for (int64_t i = 0; i < d.batch; ++i) {
                float *ci = c + i * d.stride_c;
                dk::scale_c(mm, ci);
                dk::bias_activation(ci, mm.ldc, mm.m, mm.n, bias, d.activation);
            }
            return;
        }
        dk::ThreadLease lease;
        impl.run({d, c, a, b, bias});
    });
}

extern "C" const char *dk_matmul_batched_impl_name(dk_backend backend, const dk_matmul_batched_desc *desc) {
    const char *name = nullptr;
    dk::guarded([&] {
        if (!desc) dk::fail(DK_NULL_POINTER, "desc must not be null");
        name = dk::pick_batched(backend, *desc, true).name;
    });
    return name;
}
