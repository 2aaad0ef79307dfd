// Reference strided n-d kernels: binary ops with broadcasting, sum reduction, copy.
// The iteration runs over the output shape; the innermost dimension is a plain strided loop and
// the outer ones are split across threads.
#include "core/train_ops.h"

#include <algorithm>
#include <cstddef>
#include <vector>

namespace dk {

namespace {

// d with adjacent dimensions merged wherever all three operands step through them as one (a
// contiguous same-shape tensor becomes a single row) and size-1 dimensions dropped, so the
// innermost loop runs as long as the layout allows.
dk_nd_desc coalesced(const dk_nd_desc &d) {
    dk_nd_desc c{};
    for (int i = 0; i < d.rank; ++i) {
        if (d.shape[i] == 1) continue;
        const int last = c.rank - 1;
        if (c.rank > 0 && c.out_strides[last] == d.out_strides[i] * d.shape[i] &&
            c.a_strides[last] == d.a_strides[i] * d.shape[i] && c.b_strides[last] == d.b_strides[i] * d.shape[i]) {
            c.shape[last] *= d.shape[i];
            c.out_strides[last] = d.out_strides[i], c.a_strides[last] = d.a_strides[i], c.b_strides[last] = d.b_strides[i];
            continue;
        }
        c.shape[c.rank] = d.shape[i];
        c.out_strides[c.rank] = d.out_strides[i], c.a_strides[c.rank] = d.a_strides[i], c.b_strides[c.rank] = d.b_strides[i];
        ++c.rank;
    }
    return c;
}

// Calls body(o, a, b, len, os, as, bs) for every innermost row of the iteration space (pieces
// of at most kPiece elements of it), where o, a, b are element offsets of the piece's first
// element. Pieces are split across the thread team when `parallel`; every output element
// belongs to exactly one piece.
template <class F>
void nd_rows(const dk_nd_desc &desc, bool parallel, F &&body) {
    constexpr int64_t kPiece = 1 << 14;
    const dk_nd_desc d = coalesced(desc);
    if (d.rank == 0) {
        body(0, 0, 0, 1, 0, 0, 0);
        return;
    }
    const int r = d.rank;
    const int64_t inner = d.shape[r - 1], pieces = (inner + kPiece - 1) / kPiece;
    int64_t rows = 1;
    for (int i = 0; i < r - 1; ++i) rows *= d.shape[i];
    auto run = [&](int64_t begin, int64_t end) { // [begin, end) over rows * pieces
        for (int64_t t = begin; t < end; ++t) {
            int64_t rem = t / pieces, o = 0, a = 0, b = 0;
            const int64_t j0 = t % pieces * kPiece;
            for (int i = r - 2; i >= 0; --i) {
                const int64_t idx = rem % d.shape[i];
                rem /= d.shape[i];
                o += idx * d.out_strides[i], a += idx * d.a_strides[i], b += idx * d.b_strides[i];
            }
            const int64_t os = d.out_strides[r - 1], as = d.a_strides[r - 1], bs = d.b_strides[r - 1];
            body(o + j0 * os, a + j0 * as, b + j0 * bs, std::min(kPiece, inner - j0), os, as, bs);
        }
    };
    const int64_t tasks = rows * pieces;
    if (!parallel || tasks < 2) {
        run(0, tasks);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < tasks; ++t) run(t, t + 1);
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
    bool kept[DK_MAX_RANK];
    for (int i = d.rank - 1; i >= 0; --i) {
        kept[i] = d.out_strides[i] != 0 || d.shape[i] == 1;
        acc_strides[i] = kept[i] ? outs : 0;
        if (kept[i]) outs *= d.shape[i];
    }
    std::vector<double> acc(static_cast<size_t>(outs), 0.0);
    dk_nd_desc it = d;
    for (int i = 0; i < d.rank; ++i) it.b_strides[i] = acc_strides[i];
    nd_rows(it, false, [&](int64_t, int64_t a, int64_t b, int64_t n, int64_t, int64_t as, int64_t bs) {
        for (int64_t j = 0; j < n; ++j) acc[b + j * bs] += x.a[a + j * as];
    });
    for (int64_t i = 0; i < outs; ++i) {
        // acc[i]'s output element (found from the kept dimensions, so that it is written even
        // when a reduced dimension is empty and the sum is 0)
        int64_t off = 0;
        for (int k = 0; k < d.rank; ++k)
            if (kept[k]) off += i / acc_strides[k] % d.shape[k] * d.out_strides[k];
        float *p = x.out + off;
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
