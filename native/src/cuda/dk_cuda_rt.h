// What every .cu file of native/src/cuda includes: the CUDA runtime when nvcc compiles it, the CPU
// emulator (emu/emu.h) when the host compiler does (-DDK_CUDA_EMU), and the few macros that
// differ between the two: the launch, static and dynamic shared memory, and the launchers' status.
#pragma once

#include "dk_cuda.h"

#ifdef DK_CUDA_EMU
#include "emu/emu.h"
#else
#include <cuda_runtime.h>
#endif

#include <cstdarg>
#include <cstdint>
#include <cstdio>

#ifdef DK_CUDA_EMU
// kernel<<<grid, block, smem, stream>>>(args...), synchronous in the emulator.
#define DK_LAUNCH(kernel, grid, block, smem, stream, ...) \
    ::dkemu::launch(grid, block, smem, stream, [&] { kernel(__VA_ARGS__); })
// A static __shared__ array, poisoned (0xFF: NaN) when the first thread of a block reaches it.
#define DK_SHARED(type, name, dims) \
    static type name dims;          \
    ::dkemu::shared_poison(&name, sizeof name)
#else
#define DK_LAUNCH(kernel, grid, block, smem, stream, ...) kernel<<<grid, block, smem, stream>>>(__VA_ARGS__)
#define DK_SHARED(type, name, dims) __shared__ type name dims
#endif

// Dynamic shared memory (the launch's smem bytes), as T*.
template <class T>
__device__ __forceinline__ T *dk_dynamic_shared() {
#ifdef DK_CUDA_EMU
    return static_cast<T *>(::dkemu::dynamic_shared());
#else
    extern __shared__ __align__(16) unsigned char dk_dynamic_smem[];
    return reinterpret_cast<T *>(dk_dynamic_smem);
#endif
}

namespace dkc {

// The launchers' error message, per calling thread (dkc_last_error()).
inline char *last_error_buffer() {
    static thread_local char msg[512];
    return msg;
}

inline int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
inline int fail(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(last_error_buffer(), 512, fmt, ap);
    va_end(ap);
    return status;
}

// A CUDA error as a dk_status: no driver or device is DK_UNAVAILABLE, the rest DK_INTERNAL
// (an out-of-memory is DK_OUT_OF_MEMORY).
inline int cuda_status(cudaError_t err, const char *what) {
    if (err == cudaSuccess) return DK_OK;
    if (err == cudaErrorInsufficientDriver || err == cudaErrorNoDevice)
        return fail(DK_UNAVAILABLE, "no CUDA driver or GPU found (%s)", cudaGetErrorName(err));
    if (err == cudaErrorMemoryAllocation)
        return fail(DK_OUT_OF_MEMORY, "%s: out of device memory", what);
    return fail(DK_INTERNAL, "%s failed: %s (%s)", what, cudaGetErrorString(err), cudaGetErrorName(err));
}

// After a launch: the launch error, if any (kernels run asynchronously; their faults surface at
// the next synchronization).
inline int launched(const char *kernel) { return cuda_status(cudaGetLastError(), kernel); }

inline unsigned blocks_for(int64_t n, int per_block) {
    return static_cast<unsigned>((n + per_block - 1) / per_block);
}

} // namespace dkc

// Validation in launchers: returns DK_INVALID_ARGUMENT / DK_NULL_POINTER naming the argument.
#define DKC_REQUIRE(cond, ...) \
    do {                       \
        if (!(cond)) return ::dkc::fail(DK_INVALID_ARGUMENT, __VA_ARGS__); \
    } while (0)
#define DKC_NOT_NULL(p) \
    do {                \
        if (!(p)) return ::dkc::fail(DK_NULL_POINTER, "%s must not be null", #p); \
    } while (0)
