// CPU max and average pooling (including global average pooling), forward and backward, with
// the argmax variants: threads take whole NCHW planes, each plane runs the ISA's plane kernel
// (pool_kernels.h, chosen by dk::cpu_isa()). The max backward scatters dy to the argmax, taken
// from the caller's indices or recomputed from x by the forward kernel.
#include "core/cpu_features.h"
#include "core/train_ops.h"
#include "pool_kernels.h"

#include <cstring>
#include <vector>

namespace dk {

namespace {

const pool::Kernels &kernels() {
    switch (cpu_isa()) {
    case Isa::avx512: return pool::kernels_avx512;
    case Isa::avx2: return pool::kernels_avx2;
    default: return pool::kernels_generic;
    }
}

pool::Geometry geometry(const Pool2dArgs &a) {
    const dk_pool2d_desc &d = a.d;
    return {d.h, d.w, a.oh, a.ow, d.kernel_h, d.kernel_w, d.stride_h, d.stride_w, d.pad_h, d.pad_w, d.count_include_pad};
}

void pool_forward_cpu(const Pool2dArgs &a) {
    const pool::Kernels &k = kernels();
    const pool::Geometry g = geometry(a);
    const int64_t planes = a.d.n * a.d.c, in = g.h * g.w, out = g.oh * g.ow;
#pragma omp parallel for schedule(static) if (planes * in >= 4096)
    for (int64_t p = 0; p < planes; ++p) {
        if (a.d.alg == DK_POOL_MAX) k.max_forward(&g, a.x + p * in, a.y + p * out, a.indices_out ? a.indices_out + p * out : nullptr);
        else k.avg_forward(&g, a.x + p * in, a.y + p * out);
    }
}

void pool_backward_cpu(const Pool2dArgs &a) {
    const pool::Kernels &k = kernels();
    const pool::Geometry g = geometry(a);
    const int64_t planes = a.d.n * a.d.c, in = g.h * g.w, out = g.oh * g.ow;
#pragma omp parallel if (planes * in >= 4096)
    {
        std::vector<float> y_scratch;
        std::vector<int32_t> idx_scratch;
#pragma omp for schedule(static)
        for (int64_t p = 0; p < planes; ++p) {
            float *dx = a.y + p * in;
            const float *dy = a.x + p * out;
            if (a.d.alg == DK_POOL_AVG) {
                k.avg_backward(&g, dy, dx);
                continue;
            }
            const int32_t *idx = a.indices_in ? a.indices_in + p * out : nullptr;
            if (!idx) {
                y_scratch.resize(static_cast<size_t>(out));
                idx_scratch.resize(static_cast<size_t>(out));
                k.max_forward(&g, a.x2 + p * in, y_scratch.data(), idx_scratch.data());
                idx = idx_scratch.data();
            }
            std::memset(dx, 0, sizeof(float) * static_cast<size_t>(in));
            for (int64_t i = 0; i < out; ++i) dx[idx[i]] += dy[i];
        }
    }
}

bool all(const dk_pool2d_desc &) { return true; }

} // namespace

extern const Pool2dImpl pool2d_forward_cpu_impl = {"cpu", all, pool_forward_cpu};
extern const Pool2dImpl pool2d_backward_cpu_impl = {"cpu", all, pool_backward_cpu};

} // namespace dk
