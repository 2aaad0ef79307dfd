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
    fail(DK_UNSUPPORTED, "no matmul implementation supports this descriptor");
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
