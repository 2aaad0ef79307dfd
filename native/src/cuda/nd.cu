// The strided n-d ops of deepkern.h: binary (add, sub, mul with broadcasting through zero
// strides), copy (a strided gather) and reduce_sum. binary and copy: one thread per output element,
// the flat index unravelled over the shape (last dimension fastest: coalesced for dense operands).
// reduce_sum: the dimensions split into kept ones (an output element each) and summed ones (output
// stride 0). Few terms per output (a bias gradient over a small batch, the heads of a grouped-query
// group): one thread per output element sums them in order; many: one block per output element,
// its threads striding over the summed index space, then a block sum in a fixed order. Both are
// deterministic.
#include "dk_cuda_rt.h"
#include "reduce.cuh"

namespace {

constexpr int THREADS = 256;

// Up to DK_MAX_RANK dimensions with up to three strides each, by value in the launch.
struct Nd {
    int rank;
    int64_t shape[DK_MAX_RANK], s0[DK_MAX_RANK], s1[DK_MAX_RANK], s2[DK_MAX_RANK];
};

// The offsets of flat index i (last dimension fastest) under the three stride sets.
__device__ __forceinline__ void unravel(const Nd &d, int64_t i, int64_t &o0, int64_t &o1, int64_t &o2) {
    o0 = o1 = o2 = 0;
    for (int k = d.rank - 1; k >= 0; --k) {
        const int64_t q = i / d.shape[k], r = i - q * d.shape[k];
        o0 += r * d.s0[k], o1 += r * d.s1[k], o2 += r * d.s2[k];
        i = q;
    }
}

// s0: out, s1: a, s2: b.
__global__ __launch_bounds__(THREADS) void binary_kernel(int op, const Nd d, int64_t total, float *out, const float *a,
                                                         const float *b) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        int64_t o, oa, ob;
        unravel(d, i, o, oa, ob);
        const float x = a[oa], y = b[ob];
        out[o] = op == DK_BINARY_ADD ? x + y : op == DK_BINARY_SUB ? x - y : x * y;
    }
}

__global__ __launch_bounds__(THREADS) void copy_kernel(const Nd d, int64_t total, float *out, const float *a) {
    for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        int64_t o, oa, unused;
        unravel(d, i, o, oa, unused);
        out[o] = a[oa];
    }
}

// kept: s0 = out, s1 = a; summed: s1 = a. Blocks stride over the kept elements.
__global__ __launch_bounds__(THREADS) void reduce_sum_kernel(const Nd kept, int64_t kept_total, const Nd summed,
                                                             int64_t summed_total, float alpha, float beta, float *out,
                                                             const float *a) {
    for (int64_t e = blockIdx.x; e < kept_total; e += gridDim.x) {
        int64_t o, oa, unused;
        unravel(kept, e, o, oa, unused);
        float s = 0.0f;
        for (int64_t j = threadIdx.x; j < summed_total; j += THREADS) {
            int64_t u0, ja, u2;
            unravel(summed, j, u0, ja, u2);
            s += a[oa + ja];
        }
        s = dk_block_sum(s); // every thread of the block reaches it: the loop bounds are uniform
        if (threadIdx.x == 0) out[o] = beta == 0.0f ? alpha * s : alpha * s + beta * out[o];
    }
}

__global__ __launch_bounds__(THREADS) void reduce_sum_few_kernel(const Nd kept, int64_t kept_total, const Nd summed,
                                                                 int64_t summed_total, float alpha, float beta,
                                                                 float *out, const float *a) {
    for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < kept_total;
         e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        int64_t o, oa, unused;
        unravel(kept, e, o, oa, unused);
        float s = 0.0f;
        for (int64_t j = 0; j < summed_total; ++j) {
            int64_t u0, ja, u2;
            unravel(summed, j, u0, ja, u2);
            s += a[oa + ja];
        }
        out[o] = beta == 0.0f ? alpha * s : alpha * s + beta * out[o];
    }
}

// Up to this many terms per output, a thread sums them alone.
constexpr int64_t FEW_TERMS = 64;

unsigned grid_for(int64_t n, int per_block) {
    const int64_t blocks = (n + per_block - 1) / per_block;
    return static_cast<unsigned>(blocks < 65536 ? blocks : 65536);
}

// The descriptor as an Nd (strides: out, a, b) and its element count; fails naming what is wrong.
int to_nd(const dk_nd_desc *desc, const char *op, Nd &d, int64_t &total) {
    DKC_NOT_NULL(desc);
    DKC_REQUIRE(desc->rank >= 0 && desc->rank <= DK_MAX_RANK, "%s: rank (%d) must be in [0, %d]", op, desc->rank,
                DK_MAX_RANK);
    d.rank = desc->rank;
    total = 1;
    for (int k = 0; k < desc->rank; ++k) {
        DKC_REQUIRE(desc->shape[k] >= 0, "%s: shape[%d] (%lld) must be >= 0", op, k, (long long)desc->shape[k]);
        DKC_REQUIRE(desc->out_strides[k] >= 0 && desc->a_strides[k] >= 0 && desc->b_strides[k] >= 0,
                    "%s: the strides of dimension %d must be >= 0", op, k);
        d.shape[k] = desc->shape[k], d.s0[k] = desc->out_strides[k], d.s1[k] = desc->a_strides[k];
        d.s2[k] = desc->b_strides[k];
        total = desc->shape[k] == 0 ? 0 : total;
        if (total) DKC_REQUIRE(total <= INT64_MAX / desc->shape[k], "%s: the element count overflows", op);
        total *= desc->shape[k];
    }
    return DK_OK;
}

} // namespace

extern "C" int dkc_binary(int32_t op, const dk_nd_desc *desc, float *out, const float *a, const float *b,
                          dkc_stream stream) {
    DKC_REQUIRE(op >= DK_BINARY_ADD && op <= DK_BINARY_MUL, "binary: op (%d) is not a dk_binary_op", op);
    Nd d{};
    int64_t total = 0;
    if (int s = to_nd(desc, "binary", d, total)) return s;
    if (total == 0) return DK_OK;
    DKC_NOT_NULL(out);
    DKC_NOT_NULL(a);
    DKC_NOT_NULL(b);
    DK_LAUNCH(binary_kernel, dim3(grid_for(total, THREADS)), dim3(THREADS), 0, static_cast<cudaStream_t>(stream), op, d,
              total, out, a, b);
    return dkc::launched("binary_kernel");
}

extern "C" int dkc_copy(const dk_nd_desc *desc, float *out, const float *a, dkc_stream stream) {
    Nd d{};
    int64_t total = 0;
    if (int s = to_nd(desc, "copy", d, total)) return s;
    if (total == 0) return DK_OK;
    DKC_NOT_NULL(out);
    DKC_NOT_NULL(a);
    DK_LAUNCH(copy_kernel, dim3(grid_for(total, THREADS)), dim3(THREADS), 0, static_cast<cudaStream_t>(stream), d, total,
              out, a);
    return dkc::launched("copy_kernel");
}

extern "C" int dkc_reduce_sum(const dk_nd_desc *desc, float alpha, float beta, float *out, const float *a,
                              dkc_stream stream) {
    Nd d{};
    int64_t total = 0;
    if (int s = to_nd(desc, "reduce_sum", d, total)) return s;
    // Summed: output stride 0 and a size other than 1 (0 too: an empty sum makes out beta * out).
    Nd kept{}, summed{};
    int64_t kept_total = 1, summed_total = 1;
    for (int k = 0; k < d.rank; ++k) {
        Nd &to = d.s0[k] == 0 && d.shape[k] != 1 ? summed : kept;
        const int at = to.rank++;
        to.shape[at] = d.shape[k], to.s0[at] = d.s0[k], to.s1[at] = d.s1[k];
        (&to == &summed ? summed_total : kept_total) *= d.shape[k];
    }
    if (kept_total == 0) return DK_OK;
    DKC_NOT_NULL(out);
    if (summed_total > 0) DKC_NOT_NULL(a);
    const auto s = static_cast<cudaStream_t>(stream);
    if (summed_total <= FEW_TERMS) {
        DK_LAUNCH(reduce_sum_few_kernel, dim3(grid_for(kept_total, THREADS)), dim3(THREADS), 0, s, kept, kept_total,
                  summed, summed_total, alpha, beta, out, a);
        return dkc::launched("reduce_sum_few_kernel");
    }
    DK_LAUNCH(reduce_sum_kernel, dim3(grid_for(kept_total, 1)), dim3(THREADS), 0, s, kept, kept_total, summed,
              summed_total, alpha, beta, out, a);
    return dkc::launched("reduce_sum_kernel");
}
