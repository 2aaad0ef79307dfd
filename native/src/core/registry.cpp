// The implementation registry: per operation and backend, an ordered list; the first
// implementation that supports a descriptor runs, and the reference catches the rest.
// Adding an implementation is one file plus one line here.
#include "backend.h"
#include "error.h"
#include "matmul.h"

namespace dk {

extern const MatmulImpl matmul_ref;
extern const MatmulImpl matmul_gemm; // cpu/gemm/sgemm.cpp
#ifdef DK_HAVE_ONEDNN
extern const MatmulImpl matmul_onednn;
#endif
extern const MatmulImpl matmul_cuda;

const std::vector<const MatmulImpl *> &matmul_impls(dk_backend backend) {
    static const std::vector<const MatmulImpl *> native = {&matmul_gemm, &matmul_ref};
#ifdef DK_HAVE_ONEDNN
    static const std::vector<const MatmulImpl *> onednn = {&matmul_onednn, &matmul_ref};
#endif
    static const std::vector<const MatmulImpl *> cuda = {&matmul_cuda};
    static const std::vector<const MatmulImpl *> ref = {&matmul_ref};
    require_backend(backend);
    switch (backend) {
#ifdef DK_HAVE_ONEDNN
    case DK_BACKEND_ONEDNN: return onednn;
#endif
    case DK_BACKEND_NATIVE: return native;
    case DK_BACKEND_CUDA: return cuda;
    case DK_BACKEND_REF: return ref;
    default: fail(DK_UNSUPPORTED, format("matmul has no implementation on backend %d", backend));
    }
}

extern const MatmulBatchedImpl matmul_batched_ref;
extern const MatmulBatchedImpl matmul_batched_gemm; // cpu/gemm/sgemm.cpp
#ifdef DK_HAVE_ONEDNN
extern const MatmulBatchedImpl matmul_batched_onednn;
#endif

const std::vector<const MatmulBatchedImpl *> &matmul_batched_impls(dk_backend backend) {
    static const std::vector<const MatmulBatchedImpl *> native = {&matmul_batched_gemm, &matmul_batched_ref};
#ifdef DK_HAVE_ONEDNN
    static const std::vector<const MatmulBatchedImpl *> onednn = {&matmul_batched_onednn, &matmul_batched_ref};
#endif
    static const std::vector<const MatmulBatchedImpl *> none = {};
    static const std::vector<const MatmulBatchedImpl *> ref = {&matmul_batched_ref};
    require_backend(backend);
    switch (backend) {
#ifdef DK_HAVE_ONEDNN
    case DK_BACKEND_ONEDNN: return onednn;
#endif
    case DK_BACKEND_NATIVE: return native;
    case DK_BACKEND_REF: return ref;
    default: return none; // cuda: not yet
    }
}

} // namespace dk

// ---- attention ----------------------------------------------------------------------------------
#include "attention.h"

namespace dk {

extern const AttentionImpl attention_ref;
extern const AttentionImpl attention_cpu;
#ifdef DK_HAVE_ONEDNN
extern const AttentionImpl attention_onednn;
#endif

const std::vector<const AttentionImpl *> &attention_impls(dk_backend backend) {
    static const std::vector<const AttentionImpl *> native = {&attention_cpu, &attention_ref};
#ifdef DK_HAVE_ONEDNN
    static const std::vector<const AttentionImpl *> onednn = {&attention_onednn, &attention_ref};
#endif
    static const std::vector<const AttentionImpl *> ref = {&attention_ref};
    require_backend(backend);
    switch (backend) {
#ifdef DK_HAVE_ONEDNN
    case DK_BACKEND_ONEDNN: return onednn;
#endif
    case DK_BACKEND_NATIVE: return native;
    case DK_BACKEND_REF: return ref;
    default: fail(DK_UNSUPPORTED, format("attention has no implementation on backend %d", backend));
    }
}

} // namespace dk
