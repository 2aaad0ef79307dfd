// The CUDA execution model on the CPU, so that the kernels of native/src/cuda/*.cu compile with the
// host C++ compiler (-DDK_CUDA_EMU) and run in tests without a GPU. See shared/DESIGN.md, "CUDA
// without a GPU", and the CUDA section of README.md.
//
// - A launch (DK_LAUNCH) runs the blocks of the grid one after another; `__shared__` variables are
//   function-local statics (declare them with DK_SHARED to have them poisoned with NaN at the start
//   of every block).
// - The threads of a block are either fibers on the calling thread, switched at every
//   __syncthreads and warp intrinsic in a fixed round-robin order (DK_EMU_MODE=fiber, the default:
//   deterministic, reports deadlocks and divergent barriers), or real threads (DK_EMU_MODE=threads:
//   ThreadSanitizer sees the races a missing barrier leaves).
// - Warp shuffles, votes and the tensor-core mma of ../mma.h are warp collectives: every lane named
//   in the mask must arrive at the same call site, as on sm_70+ ("*_sync").
// - Atomics are real atomics; "device" memory is malloc'ed at its exact size (AddressSanitizer
//   sees every overrun) and filled with 0xFF bytes (NaN as float, -1 as int).
// - A kernel error (divergent barrier, deadlock, bad shuffle) fails the launch:
//   cudaGetLastError() returns cudaErrorLaunchFailure and dkemu::last_launch_message() says why.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

// ---- qualifiers ----------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __constant__ static

// ---- vector types ----------------------------------------------------------------------------
struct uint3 {
    unsigned x, y, z;
};
struct dim3 {
    unsigned x = 1, y = 1, z = 1;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
struct alignas(8) float2 {
    float x, y;
};
struct alignas(16) float4 {
    float x, y, z, w;
};
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

// ---- runtime API subset --------------------------------------------------------------------------
enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevice = 101,
    cudaErrorNoDevice = 100,
    cudaErrorInsufficientDriver = 35,
    cudaErrorLaunchFailure = 719,
};
typedef cudaError_t cudaError;
struct CUstream_st;
typedef CUstream_st *cudaStream_t;
enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4
};
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
enum cudaStreamFlags_ { cudaStreamNonBlocking = 1 };

cudaError_t cudaMalloc(void **p, size_t bytes);
template <class T>
cudaError_t cudaMalloc(T **p, size_t bytes) {
    return cudaMalloc(reinterpret_cast<void **>(p), bytes);
}
cudaError_t cudaFree(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s = nullptr);
cudaError_t cudaMemset(void *p, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t s = nullptr);
cudaError_t cudaStreamCreate(cudaStream_t *s);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaGetDevice(int *device);
cudaError_t cudaSetDevice(int device);
const char *cudaGetErrorString(cudaError_t e);
const char *cudaGetErrorName(cudaError_t e);
template <class F>
cudaError_t cudaFuncSetAttribute(F, cudaFuncAttribute, int) {
    return cudaSuccess;
}

namespace dkemu {

// One thread of the emulated block; kernels reach it through threadIdx & co.
struct ThreadCtx {
    uint3 thread_idx{0, 0, 0};
    uint3 block_idx{0, 0, 0};
    int linear = 0; // x + y * bx + z * bx * by
    int lane = 0, warp = 0;
    void *impl = nullptr; // the emulator's per-thread state
};
extern thread_local ThreadCtx *tl_self;
inline ThreadCtx &self() { return *tl_self; }
extern dim3 g_block_dim, g_grid_dim;

// Runs `kernel` on every thread of every block of the grid; returns cudaSuccess or
// cudaErrorLaunchFailure / cudaErrorInvalidConfiguration (message in last_launch_message()).
cudaError_t launch(dim3 grid, dim3 block, size_t dynamic_smem, cudaStream_t stream, const std::function<void()> &kernel);
const char *last_launch_message();

// Barriers and collectives (the file and line name the call site in error messages).
void syncthreads(const char *file, int line);
void syncwarp(unsigned mask, const char *file, int line);
// Every lane of `mask` deposits `bytes` (<= 64) from `mine`; when all have arrived each gets the
// deposits of all 32 lanes in `all` (32 * bytes; lanes outside the mask or the block read as 0xFF
// bytes) and `present` (the lanes that deposited).
void warp_collective(unsigned mask, const void *mine, size_t bytes, void *all, unsigned *present, const char *what,
                     const char *file, int line);
[[noreturn]] void kernel_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Fills a static `__shared__` array with 0xFF bytes the first time a thread of the current block
// reaches its declaration (DK_SHARED).
void shared_poison(void *p, size_t bytes);
void *dynamic_shared();

// Shuffles with PTX's shfl.sync semantics: c = ((32 - width) << 8) | clamp.
enum ShflMode { SHFL_IDX, SHFL_UP, SHFL_DOWN, SHFL_BFLY };
uint32_t shfl32(ShflMode mode, unsigned mask, uint32_t v, int b, int width, const char *file, int line);

template <class T>
T shfl(ShflMode mode, unsigned mask, T v, int b, int width, const char *file, int line) {
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "shuffle of a 4- or 8-byte value");
    if constexpr (sizeof(T) == 4) {
        uint32_t u;
        std::memcpy(&u, &v, 4);
        u = shfl32(mode, mask, u, b, width, file, line);
        std::memcpy(&v, &u, 4);
    } else {
        uint32_t u[2];
        std::memcpy(u, &v, 8);
        u[0] = shfl32(mode, mask, u[0], b, width, file, line);
        u[1] = shfl32(mode, mask, u[1], b, width, file, line);
        std::memcpy(&v, u, 8);
    }
    return v;
}
unsigned ballot(unsigned mask, bool pred, const char *file, int line);

} // namespace dkemu

#define threadIdx (::dkemu::self().thread_idx)
#define blockIdx (::dkemu::self().block_idx)
#define blockDim (::dkemu::g_block_dim)
#define gridDim (::dkemu::g_grid_dim)
#define warpSize 32

#define __syncthreads() ::dkemu::syncthreads(__FILE__, __LINE__)
// The intrinsics with optional arguments (mask of __syncwarp, width of the shuffles) go through a
// call-site object so that the defaults stay C++ default arguments.
namespace dkemu {
struct Site {
    const char *file;
    int line;
    void syncwarp(unsigned mask = 0xffffffffu) const { dkemu::syncwarp(mask, file, line); }
    template <class T>
    T shfl_idx(unsigned mask, T v, int src, int width = 32) const {
        return shfl(SHFL_IDX, mask, v, src, width, file, line);
    }
    template <class T>
    T shfl_up(unsigned mask, T v, unsigned delta, int width = 32) const {
        return shfl(SHFL_UP, mask, v, static_cast<int>(delta), width, file, line);
    }
    template <class T>
    T shfl_down(unsigned mask, T v, unsigned delta, int width = 32) const {
        return shfl(SHFL_DOWN, mask, v, static_cast<int>(delta), width, file, line);
    }
    template <class T>
    T shfl_xor(unsigned mask, T v, int lane_mask, int width = 32) const {
        return shfl(SHFL_BFLY, mask, v, lane_mask, width, file, line);
    }
};
} // namespace dkemu
#define DK_EMU_SITE_ (::dkemu::Site{__FILE__, __LINE__})
#define __syncwarp(...) DK_EMU_SITE_.syncwarp(__VA_ARGS__)
#define __shfl_sync(...) DK_EMU_SITE_.shfl_idx(__VA_ARGS__)
#define __shfl_up_sync(...) DK_EMU_SITE_.shfl_up(__VA_ARGS__)
#define __shfl_down_sync(...) DK_EMU_SITE_.shfl_down(__VA_ARGS__)
#define __shfl_xor_sync(...) DK_EMU_SITE_.shfl_xor(__VA_ARGS__)
#define __ballot_sync(mask, pred) ::dkemu::ballot(mask, pred, __FILE__, __LINE__)
#define __any_sync(mask, pred) (::dkemu::ballot(mask, pred, __FILE__, __LINE__) != 0u)
#define __all_sync(mask, pred) (::dkemu::ballot(mask, !(pred), __FILE__, __LINE__) == 0u)

// ---- device functions ------------------------------------------------------------------------------
template <class T>
inline T __ldg(const T *p) {
    return *p;
}
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __ffs(unsigned x) { return __builtin_ffs(static_cast<int>(x)); }
inline int __float_as_int(float f) {
    int i;
    std::memcpy(&i, &f, 4);
    return i;
}
inline unsigned __float_as_uint(float f) {
    unsigned i;
    std::memcpy(&i, &f, 4);
    return i;
}
inline float __int_as_float(int i) {
    float f;
    std::memcpy(&f, &i, 4);
    return f;
}
inline float __uint_as_float(unsigned i) {
    float f;
    std::memcpy(&f, &i, 4);
    return f;
}
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// Real atomics (relaxed, like CUDA's), so that ThreadSanitizer accepts them in thread mode.
inline float atomicAdd(float *p, float v) {
    unsigned old = __atomic_load_n(reinterpret_cast<unsigned *>(p), __ATOMIC_RELAXED);
    for (;;) {
        const unsigned next = __float_as_uint(__uint_as_float(old) + v);
        if (__atomic_compare_exchange_n(reinterpret_cast<unsigned *>(p), &old, next, false, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            return __uint_as_float(old);
    }
}
inline int atomicAdd(int *p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline unsigned atomicAdd(unsigned *p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v) {
    return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
inline int atomicMax(int *p, int v) {
    int old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (old < v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return old;
}
inline int atomicCAS(int *p, int expected, int desired) {
    __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return expected;
}
inline unsigned atomicCAS(unsigned *p, unsigned expected, unsigned desired) {
    __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return expected;
}
inline int atomicExch(int *p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
inline float atomicExch(float *p, float v) {
    return __uint_as_float(__atomic_exchange_n(reinterpret_cast<unsigned *>(p), __float_as_uint(v), __ATOMIC_RELAXED));
}
