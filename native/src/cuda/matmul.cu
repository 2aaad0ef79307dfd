// CUDA matmul: C = alpha * op(A) * op(B) + beta * C on device pointers (row-major, as dk_matmul).
// A 16x16 shared-memory tiled kernel; the tensor-core GEMM belongs to the CUDA backend issue.
// Kernels first, then their host launchers.
#include "dk_cuda.h"

#include <cuda_runtime.h>

#include <cstdio>

namespace {

constexpr int TILE = 16;

__global__ void sgemm_tiled16(int64_t m, int64_t n, int64_t k, bool ta, bool tb, const float *a, int64_t lda,
                              const float *b, int64_t ldb, float *c, int64_t ldc, float alpha, float beta) {
    __shared__ float as[TILE][TILE];
    __shared__ float bs[TILE][TILE + 1];
    const int64_t row = static_cast<int64_t>(blockIdx.y) * TILE + threadIdx.y;
    const int64_t col = static_cast<int64_t>(blockIdx.x) * TILE + threadIdx.x;
    float acc = 0.0f;
    for (int64_t p0 = 0; p0 < k; p0 += TILE) {
        const int64_t pa = p0 + threadIdx.x, pb = p0 + threadIdx.y;
        as[threadIdx.y][threadIdx.x] = (row < m && pa < k) ? a[ta ? pa * lda + row : row * lda + pa] : 0.0f;
        bs[threadIdx.y][threadIdx.x] = (pb < k && col < n) ? b[tb ? col * ldb + pb : pb * ldb + col] : 0.0f;
        __syncthreads();
#pragma unroll
        for (int p = 0; p < TILE; ++p) acc += as[threadIdx.y][p] * bs[p][threadIdx.x];
        __syncthreads();
    }
    if (row < m && col < n) {
        float *out = c + row * ldc + col;
        *out = beta == 0.0f ? alpha * acc : alpha * acc + beta * *out;
    }
}

int report(cudaError_t err, const char *what, char *msg, int msg_len) {
    if (err == cudaSuccess) return 0;
    if (err == cudaErrorInsufficientDriver || err == cudaErrorNoDevice) {
        std::snprintf(msg, msg_len, "no CUDA driver or GPU found (%s)", cudaGetErrorName(err));
        return DK_UNAVAILABLE;
    }
    std::snprintf(msg, msg_len, "%s failed: %s", what, cudaGetErrorString(err));
    return DK_INTERNAL;
}

} // namespace

extern "C" int dkc_device_count(int *count, char *msg, int msg_len) {
    *count = 0;
    const int status = report(cudaGetDeviceCount(count), "cudaGetDeviceCount", msg, msg_len);
    if (status == 0 && *count < 1) {
        std::snprintf(msg, msg_len, "no CUDA driver or GPU found");
        return DK_UNAVAILABLE;
    }
    return status;
}

extern "C" int dkc_matmul(const dk_matmul_desc *d, float *c, const float *a, const float *b, char *msg,
                          int msg_len) {
    const int64_t grid_x = (d->n + TILE - 1) / TILE, grid_y = (d->m + TILE - 1) / TILE;
    if (grid_x > 0x7fffffff || grid_y > 65535) {
        std::snprintf(msg, msg_len, "matmul of %lld x %lld is too large for one launch", (long long)d->m,
                      (long long)d->n);
        return DK_UNSUPPORTED;
    }
    const dim3 grid(static_cast<unsigned>(grid_x), static_cast<unsigned>(grid_y)), block(TILE, TILE);
    sgemm_tiled16<<<grid, block>>>(d->m, d->n, d->k, d->trans_a, d->trans_b, a, d->lda, b, d->ldb, c, d->ldc,
                                   d->alpha, d->beta);
    if (int s = report(cudaGetLastError(), "sgemm_tiled16 launch", msg, msg_len)) return s;
    return report(cudaDeviceSynchronize(), "sgemm_tiled16", msg, msg_len);
}
