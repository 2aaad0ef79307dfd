// Reference embedding lookup (a row gather) and its backward (a scatter-add of rows).
#include "core/train_ops.h"

#include <cstring>

namespace dk {

namespace {

void embedding_forward_ref(const EmbeddingArgs &a) {
    const int64_t dim = a.d.dim;
    for (int64_t i = 0; i < a.d.n; ++i)
        std::memcpy(a.out + i * dim, a.in + static_cast<int64_t>(a.indices[i]) * dim, sizeof(float) * dim);
}

void embedding_backward_ref(const EmbeddingArgs &a) {
    const int64_t dim = a.d.dim;
    std::memset(a.out, 0, sizeof(float) * a.d.vocab * dim);
    for (int64_t i = 0; i < a.d.n; ++i) {
        float *row = a.out + static_cast<int64_t>(a.indices[i]) * dim;
        const float *g = a.in + i * dim;
        for (int64_t j = 0; j < dim; ++j) row[j] += g[j];
    }
}

bool all(const dk_embedding_desc &) { return true; }

} // namespace

extern const EmbeddingImpl embedding_forward_ref_impl = {"ref", all, embedding_forward_ref};
extern const EmbeddingImpl embedding_backward_ref_impl = {"ref", all, embedding_backward_ref};

} // namespace dk
