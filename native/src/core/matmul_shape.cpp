#include "error.h"
#include "matmul.h"

namespace dk {

namespace {

// Elements spanned by a rows x cols row-major matrix with leading dimension ld:
// (rows - 1) * ld + cols, or 0 when it has no element. Checks ld and 64-bit overflow.
int64_t extent(const char *name, const char *ld_name, int64_t rows, int64_t cols, int64_t ld) {
    if (rows == 0 || cols == 0) return 0;
    if (ld < cols)
        fail(DK_INVALID_ARGUMENT, format("%s (%lld) must be >= %lld, the row length of %s as stored",
                                         ld_name, (long long)ld, (long long)cols, name));
    int64_t span;
    if (__builtin_mul_overflow(rows - 1, ld, &span) || __builtin_add_overflow(span, cols, &span))
        fail(DK_INVALID_ARGUMENT, format("%s: %lld rows with %s = %lld overflow a 64-bit size", name,
                                         (long long)rows, ld_name, (long long)ld));
    return span;
}

void check_buffer(const char *name, const float *p, int64_t len, int64_t needed) {
    if (len < 0) fail(DK_INVALID_ARGUMENT, format("%s_len must be >= 0, got %lld", name, (long long)len));
    if (needed == 0) return;
    if (!p) fail(DK_NULL_POINTER, format("%s must not be null", name));
    if (len < needed)
        fail(DK_INVALID_ARGUMENT, format("%s needs %lld floats for its shape and leading dimension, but its "
                                         "buffer holds %lld", name, (long long)needed, (long long)len));
}

bool overlap(const float *p, int64_t p_len, const float *q, int64_t q_len) {
    if (p_len == 0 || q_len == 0) return false;
    return p < q + q_len && q < p + p_len;
}

void check_sizes(const dk_matmul_desc *d) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    if (d->m < 0) fail(DK_INVALID_ARGUMENT, format("m must be >= 0, got %lld", (long long)d->m));
    if (d->n < 0) fail(DK_INVALID_ARGUMENT, format("n must be >= 0, got %lld", (long long)d->n));
    if (d->k < 0) fail(DK_INVALID_ARGUMENT, format("k must be >= 0, got %lld", (long long)d->k));
    if (d->trans_a != 0 && d->trans_a != 1) fail(DK_INVALID_ARGUMENT, format("trans_a must be 0 or 1, got %d", d->trans_a));
}

} // namespace

void check_matmul(const dk_matmul_desc *d, const float *c, int64_t c_len, const float *a, int64_t a_len,
                  const float *b, int64_t b_len) {
    check_sizes(d);
    if (d->trans_b != 0 && d->trans_b != 1) fail(DK_INVALID_ARGUMENT, format("trans_b must be 0 or 1, got %d", d->trans_b));

    const int64_t a_rows = d->trans_a ? d->k : d->m, a_cols = d->trans_a ? d->m : d->k;
    const int64_t b_rows = d->trans_b ? d->n : d->k, b_cols = d->trans_b ? d->k : d->n;
    // A and B are read only when the product has an element and a nonzero inner dimension.
    const bool reads_ab = d->m > 0 && d->n > 0 && d->k > 0;
    const int64_t a_need = reads_ab ? extent("a", "lda", a_rows, a_cols, d->lda) : 0;
    const int64_t b_need = reads_ab ? extent("b", "ldb", b_rows, b_cols, d->ldb) : 0;
    const int64_t c_need = extent("c", "ldc", d->m, d->n, d->ldc);
    check_buffer("c", c, c_len, c_need);
    check_buffer("a", a, a_len, a_need);
    check_buffer("b", b, b_len, b_need);
    if (overlap(c, c_need, a, a_need)) fail(DK_INVALID_ARGUMENT, "c must not overlap a");
    if (overlap(c, c_need, b, b_need)) fail(DK_INVALID_ARGUMENT, "c must not overlap b");
}

void check_pack_b(int64_t k, int64_t n, int32_t trans_b, const float *b, int64_t ldb, int64_t b_len) {
    if (k < 0) fail(DK_INVALID_ARGUMENT, format("k must be >= 0, got %lld", (long long)k));
    if (n < 0) fail(DK_INVALID_ARGUMENT, format("n must be >= 0, got %lld", (long long)n));
    if (trans_b != 0 && trans_b != 1) fail(DK_INVALID_ARGUMENT, format("trans_b must be 0 or 1, got %d", trans_b));
    const int64_t b_need = trans_b ? extent("b", "ldb", n, k, ldb) : extent("b", "ldb", k, n, ldb);
    check_buffer("b", b, b_len, b_need);
}

void check_matmul_packed_b(const dk_matmul_desc *d, const float *c, int64_t c_len, const float *a, int64_t a_len,
                           int64_t packed_k, int64_t packed_n, const float *bias, int64_t bias_len, int32_t activation) {
    check_sizes(d);
    if (d->k != packed_k)
        fail(DK_INVALID_ARGUMENT, format("k (%lld) must equal the packed b's k (%lld)", (long long)d->k, (long long)packed_k));
    if (d->n != packed_n)
        fail(DK_INVALID_ARGUMENT, format("n (%lld) must equal the packed b's n (%lld)", (long long)d->n, (long long)packed_n));
    const int64_t a_rows = d->trans_a ? d->k : d->m, a_cols = d->trans_a ? d->m : d->k;
    const bool reads_a = d->m > 0 && d->n > 0 && d->k > 0;
    const int64_t a_need = reads_a ? extent("a", "lda", a_rows, a_cols, d->lda) : 0;
    const int64_t c_need = extent("c", "ldc", d->m, d->n, d->ldc);
    check_buffer("c", c, c_len, c_need);
    check_buffer("a", a, a_len, a_need);
    if (overlap(c, c_need, a, a_need)) fail(DK_INVALID_ARGUMENT, "c must not overlap a");
    if (activation < DK_ACTIVATION_NONE || activation > DK_ACTIVATION_GELU)
        fail(DK_INVALID_ARGUMENT, format("activation must be NONE (0), RELU (1) or GELU (2), got %d", activation));
    if (bias_len < 0) fail(DK_INVALID_ARGUMENT, format("bias_len must be >= 0, got %lld", (long long)bias_len));
    if (bias && bias_len < d->n)
        fail(DK_INVALID_ARGUMENT,
             format("bias needs n = %lld floats, but its buffer holds %lld", (long long)d->n, (long long)bias_len));
    if (bias && overlap(c, c_need, bias, d->n)) fail(DK_INVALID_ARGUMENT, "c must not overlap bias");
}

void check_matmul_batched(const dk_matmul_batched_desc *d, const float *c, int64_t c_len, const float *a,
                          int64_t a_len, const float *b, int64_t b_len, const float *bias, int64_t bias_len) {
    if (!d) fail(DK_NULL_POINTER, "desc must not be null");
    const dk_matmul_desc &mm = d->mm;
    check_sizes(&mm);
    if (mm.trans_b != 0 && mm.trans_b != 1) fail(DK_INVALID_ARGUMENT, format("trans_b must be 0 or 1, got %d", mm.trans_b));
    if (d->batch < 0) fail(DK_INVALID_ARGUMENT, format("batch must be >= 0, got %lld", (long long)d->batch));
    if (d->stride_a < 0 || d->stride_b < 0 || d->stride_c < 0)
        fail(DK_INVALID_ARGUMENT, format("stride_a, stride_b and stride_c must be >= 0, got %lld, %lld, %lld",
                                         (long long)d->stride_a, (long long)d->stride_b, (long long)d->stride_c));
    if (d->activation < DK_ACTIVATION_NONE || d->activation > DK_ACTIVATION_GELU)
        fail(DK_INVALID_ARGUMENT, format("activation must be NONE (0), RELU (1) or GELU (2), got %d", d->activation));
    if (bias_len < 0) fail(DK_INVALID_ARGUMENT, format("bias_len must be >= 0, got %lld", (long long)bias_len));
    if (bias && bias_len < mm.n)
        fail(DK_INVALID_ARGUMENT, format("bias needs n = %lld floats, but its buffer holds %lld", (long long)mm.n,
                                         (long long)bias_len));
    const int64_t a_rows = mm.trans_a ? mm.k : mm.m, a_cols = mm.trans_a ? mm.m : mm.k;
    const int64_t b_rows = mm.trans_b ? mm.n : mm.k, b_cols = mm.trans_b ? mm.k : mm.n;
    const bool any = d->batch > 0 && mm.m > 0 && mm.n > 0, reads_ab = any && mm.k > 0;
    const int64_t a_one = reads_ab ? extent("a", "lda", a_rows, a_cols, mm.lda) : 0;
    const int64_t b_one = reads_ab ? extent("b", "ldb", b_rows, b_cols, mm.ldb) : 0;
    const int64_t c_one = any ? extent("c", "ldc", mm.m, mm.n, mm.ldc) : 0;
    if (any && d->batch > 1 && d->stride_c < c_one)
        fail(DK_INVALID_ARGUMENT, format("stride_c (%lld) must be >= %lld, the extent of one c, so that the "
                                         "products do not overwrite each other", (long long)d->stride_c, (long long)c_one));
    // (batch - 1) * stride + extent, overflow-checked
    auto total = [&](const char *name, int64_t one, int64_t stride) {
        if (one == 0) return int64_t(0);
        int64_t t;
        if (__builtin_mul_overflow(d->batch - 1, stride, &t) || __builtin_add_overflow(t, one, &t))
            fail(DK_INVALID_ARGUMENT, format("%s: batch %lld with its stride overflows a 64-bit size", name, (long long)d->batch));
        return t;
    };
    const int64_t a_need = total("a", a_one, d->stride_a), b_need = total("b", b_one, d->stride_b);
    const int64_t c_need = total("c", c_one, d->stride_c);
    check_buffer("c", c, c_len, c_need);
    check_buffer("a", a, a_len, a_need);
    check_buffer("b", b, b_len, b_need);
    if (overlap(c, c_need, a, a_need)) fail(DK_INVALID_ARGUMENT, "c must not overlap a");
    if (overlap(c, c_need, b, b_need)) fail(DK_INVALID_ARGUMENT, "c must not overlap b");
    if (bias && any && overlap(c, c_need, bias, mm.n)) fail(DK_INVALID_ARGUMENT, "c must not overlap bias");
}

} // namespace dk
