// Reference strided n-d kernels: binary ops with broadcasting, sum reduction, copy.
// The iteration runs over the output shape; the innermost dimension is a plain strided loop and
// the outer ones are split across threads.
#include "core/train_ops.h"

#include <cstddef>
#include <vector>

namespace dk {

namespace {

// Calls body(o, a, b, len, os, as, bs) for every innermost row of the iteration space, where o,
// a, b are element offsets of the row's first element. Rows are split across the thread team
// when `parallel`.
template <class F>
void nd_rows(const dk_nd_desc &d, bool parallel, F &&body) {
    if (d.rank == 0) {
        body(0, 0, 0, 1, 0, 0, 0);
        return;
    }
    const int r = d.rank;
    const int64_t inner = d.shape[r - 1];
    int64_t rows = 1;
    for (int i = 0; i < r - 1; ++i) rows *= d.shape[i];
    auto run = [&](int64_t begin, int64_t end) {
        for (int64_t row = begin; row < end; ++row) {
            int64_t rem = row, o = 0, a = 0, b = 0;
            for (int i = r - 2; i >= 0; --i) {
                const int64_t idx = rem % d.shape[i];
                rem /= d.shape[i];
                o += idx * d.out_strides[i], a += idx * d.a_strides[i], b += idx * d.b_strides[i];
            }
            body(o, a, b, inner, d.out_strides[r - 1], d.a_strides[r - 1], d.b_strides[r - 1]);
        }
    };
    if (!parallel || rows < 2) {
        run(0, rows);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t row = 0; row < rows; ++row) run(row, row + 1);
}

template <class Op>
void binary_loop(const BinaryArgs &x, Op op) {
    const bool parallel = nd_numel(x.d) >= (1 << 15);
    nd_rows(x.d, parallel, [&](int64_t o, int64_t a, int64_t b, int64_t n, int64_t os, int64_t as, int64_t bs) {
        float *out = x.out + o;
        const float *pa = x.a + a, *pb = x.b + b;
        if (os == 1 && as == 1 && bs == 1) {
            for (int64_t j = 0; j < n; ++j) out[j] = op(pa[j], pb[j]);
        } else if (os == 1 && as == 1 && bs == 0) {
            const float vb = pb[0];
            for (int64_t j = 0; j < n; ++j) out[j] = op(pa[j], vb);
        } else {
            for (int64_t j = 0; j < n; ++j) out[j * os] = op(pa[j * as], pb[j * bs]);
        }
    });
}

void binary_ref(const BinaryArgs &x) {
    switch (x.op) {
    case DK_BINARY_ADD: return binary_loop(x, [](float a, float b) { return a + b; });
    case DK_BINARY_SUB: return binary_loop(x, [](float a, float b) { return a - b; });
    case DK_BINARY_MUL: return binary_loop(x, [](float a, float b) { return a * b; });
    }
}

// Sums into a double accumulator per output element (the dimensions with out stride 0
// collapse), then writes alpha * sum + beta * out.
void reduce_ref(const ReduceArgs &x) {
    const dk_nd_desc &d = x.d;
    int64_t acc_strides[DK_MAX_RANK], outs = 1;
    for (int i = d.rank - 1; i >= 0; --i) {
        const bool kept = d.out_strides[i] != 0 || d.shape[i] == 1;
        acc_strides[i] = kept ? outs : 0;
        if (kept) outs *= d.shape[i];
    }
    std::vector<double> acc(static_cast<size_t>(outs), 0.0);
    std::vector<int64_t> out_off(static_cast<size_t>(outs), -1);
    dk_nd_desc it = d;
    for (int i = 0; i < d.rank; ++i) it.b_strides[i] = acc_strides[i];
    nd_rows(it, false, [&](int64_t o, int64_t a, int64_t b, int64_t n, int64_t os, int64_t as, int64_t bs) {
        for (int64_t j = 0; j < n; ++j) {
            acc[b + j * bs] += x.a[a + j * as];
            out_off[b + j * bs] = o + j * os;
        }
    });
    for (int64_t i = 0; i < outs; ++i) {
        float *p = x.out + out_off[i];
        const double v = x.alpha * acc[i];
        *p = static_cast<float>(x.beta == 0.0f ? v : v + static_cast<double>(x.beta) * *p);
    }
}

void copy_ref(const CopyArgs &x) {
    const bool parallel = nd_numel(x.d) >= (1 << 15);
    nd_rows(x.d, parallel, [&](int64_t o, int64_t a, int64_t, int64_t n, int64_t os, int64_t as, int64_t) {
        float *out = x.out + o;
        const float *pa = x.a + a;
        if (os == 1 && as == 1)
            for (int64_t j = 0; j < n; ++j) out[j] = pa[j];
        else
            for (int64_t j = 0; j < n; ++j) out[j * os] = pa[j * as];
    });
}

bool all(const dk_nd_desc &) { return true; }

} // namespace

extern const BinaryImpl binary_ref_impl = {"ref", all, binary_ref};
extern const ReduceImpl reduce_ref_impl = {"ref", all, reduce_ref};
extern const CopyImpl copy_ref_impl = {"ref", all, copy_ref};

} // namespace dk
