// dk_cuda_*: device memory for the cuda backend, forwarded to libdeepkern_cuda's dkc_* functions
// (native/src/cuda/dk_cuda.h). Arguments are checked here first, so that bad input gets the same
// error with or without a GPU.
#include "backend.h"
#include "cuda/dk_cuda.h"
#include "error.h"

extern "C" dk_status dk_cuda_malloc(void **out, int64_t bytes) {
    return dk::guarded([&] {
        if (!out) dk::fail(DK_NULL_POINTER, "out must not be null");
        *out = nullptr;
        if (bytes < 0) dk::fail(DK_INVALID_ARGUMENT, dk::format("bytes must be >= 0, got %lld", (long long)bytes));
        DKC_CALL(dkc_malloc, out, bytes);
    });
}

extern "C" dk_status dk_cuda_free(void *p) {
    return dk::guarded([&] {
        if (!p) return;
        DKC_CALL(dkc_free, p);
    });
}

extern "C" dk_status dk_cuda_memcpy(void *dst, const void *src, int64_t bytes, int32_t kind) {
    return dk::guarded([&] {
        if (bytes < 0) dk::fail(DK_INVALID_ARGUMENT, dk::format("bytes must be >= 0, got %lld", (long long)bytes));
        if (kind < DK_COPY_HOST_TO_DEVICE || kind > DK_COPY_DEVICE_TO_DEVICE)
            dk::fail(DK_INVALID_ARGUMENT,
                     dk::format("kind must be HOST_TO_DEVICE, DEVICE_TO_HOST or DEVICE_TO_DEVICE, got %d", kind));
        if (bytes == 0) return;
        if (!dst) dk::fail(DK_NULL_POINTER, "dst must not be null");
        if (!src) dk::fail(DK_NULL_POINTER, "src must not be null");
        DKC_CALL(dkc_memcpy, dst, src, bytes, kind, nullptr);
    });
}

extern "C" dk_status dk_cuda_synchronize(void) {
    return dk::guarded([&] { DKC_CALL(dkc_stream_synchronize, nullptr); });
}

extern "C" dk_status dk_cuda_empty_cache(void) {
    return dk::guarded([&] { ::dk::cuda_call<decltype(dkc_empty_cache)>("dkc_empty_cache"); });
}

extern "C" dk_status dk_cuda_memory_stats(int64_t *in_use, int64_t *cached) {
    return dk::guarded([&] {
        if (!in_use) dk::fail(DK_NULL_POINTER, "in_use must not be null");
        if (!cached) dk::fail(DK_NULL_POINTER, "cached must not be null");
        *in_use = *cached = 0;
        DKC_CALL(dkc_memory_stats, in_use, cached);
    });
}
