// Embedding lookup (a row gather) and its backward (a scatter-add of rows): one thread per element
// of the [n, dim] side, consecutive threads along a row (coalesced reads of the table rows).
// Indices arrive as floats holding exact row numbers, validated by the caller.
#include "dk_cuda_rt.h"

namespace {

constexpr int THREADS = 256;

unsigned grid_for(int64_t n) {
    const int64_t blocks = (n + THREADS - 1) / THREADS;
    return static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
}

__global__ __launch_bounds__(THREADS) void embedding_forward_kernel(float *y, const float *table, const float *indices,
                                                                     int64_t n, int64_t dim) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n * dim;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t row = i / dim, j = i - row * dim;
        y[i] = table[static_cast<int64_t>(indices[row]) * dim + j];
    }
}

// dtable was zeroed; rows hit by several indices sum with float atomics.
__global__ __launch_bounds__(THREADS) void embedding_backward_kernel(float *dtable, const float *dy,
                                                                      const float *indices, int64_t n, int64_t dim) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n * dim;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t row = i / dim, j = i - row * dim;
        atomicAdd(dtable + static_cast<int64_t>(indices[row]) * dim + j, dy[i]);
    }
}

int check(int64_t n, int64_t vocab, int64_t dim, const char *op) {
    DKC_REQUIRE(n >= 0 && vocab >= 1 && dim >= 0, "%s: n (%lld) and dim (%lld) must be >= 0, vocab (%lld) >= 1", op,
                (long long)n, (long long)dim, (long long)vocab);
    DKC_REQUIRE(n <= INT64_MAX / (dim > 0 ? dim : 1) && vocab <= INT64_MAX / (dim > 0 ? dim : 1),
                "%s: n * dim or vocab * dim overflows", op);
    return DK_OK;
}

} // namespace

extern "C" int dkc_embedding_forward(float *y, const float *table, const float *indices, int64_t n, int64_t vocab,
                                     int64_t dim, dkc_stream stream) {
    if (int s = check(n, vocab, dim, "embedding_forward")) return s;
    if (n * dim == 0) return DK_OK;
    DKC_NOT_NULL(y);
    DKC_NOT_NULL(table);
    DKC_NOT_NULL(indices);
    DK_LAUNCH(embedding_forward_kernel, dim3(grid_for(n * dim)), dim3(THREADS), 0, static_cast<cudaStream_t>(stream),
              y, table, indices, n, dim);
    return dkc::launched("embedding_forward_kernel");
}

extern "C" int dkc_embedding_backward(float *dtable, const float *dy, const float *indices, int64_t n, int64_t vocab,
                                      int64_t dim, dkc_stream stream) {
    if (int s = check(n, vocab, dim, "embedding_backward")) return s;
    if (vocab * dim == 0) return DK_OK;
    DKC_NOT_NULL(dtable);
    const auto s = static_cast<cudaStream_t>(stream);
    int st = dkc::cuda_status(
        cudaMemsetAsync(dtable, 0, static_cast<size_t>(vocab * dim) * sizeof(float), s), "cudaMemsetAsync(dtable)");
    if (st != DK_OK || n == 0) return st;
    DKC_NOT_NULL(dy);
    DKC_NOT_NULL(indices);
    DK_LAUNCH(embedding_backward_kernel, dim3(grid_for(n * dim)), dim3(THREADS), 0, s, dtable, dy, indices, n, dim);
    return dkc::launched("embedding_backward_kernel");
}
