package org.deepkern.ops;

import org.deepkern.Tensor;
import org.deepkern.backend.Backend;

import java.util.Arrays;
import java.util.Objects;

/**
 * The shape function of attention and its result, the descriptor every backend receives.
 * Validates once, before any backend runs: open rank-4 tensors on the backend's device, q
 * [batch, qHeads, qSeq, headDim], k and v [batch, kvHeads, kvSeq, headDim] with kvHeads dividing
 * qHeads, headDim at most {@value #MAX_HEAD_DIM}, and key lengths (one per batch entry, in
 * [1, kvSeq]). Layout: tensors are read as contiguous [batch, heads, seq, headDim]; the op copies
 * other layouts first.
 *
 * @param keyLengths one per batch entry, or null (shared, do not modify)
 */
public record AttentionSpec(long batch, long qHeads, long kvHeads, long qSeq, long kvSeq, long headDim, float scale,
                            boolean causal, float dropout, long seed, int[] keyLengths) {
    /** The largest head dimension the kernels accept. */
    public static final long MAX_HEAD_DIM = 256;

    /** Validates attention(q, k, v, options) for {@code backend}. */
    public static AttentionSpec of(Backend backend, Tensor q, Tensor k, Tensor v, AttentionOptions options) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(options, "options");
        check("q", q, backend);
        check("k", k, backend);
        check("v", v, backend);
        long batch = q.size(0), qHeads = q.size(1), qSeq = q.size(2), headDim = q.size(3);
        long kvHeads = k.size(1), kvSeq = k.size(2);
        if (k.size(0) != batch || k.size(3) != headDim)
            throw new IllegalArgumentException("k is " + Arrays.toString(k.shape()) + " but q is " + Arrays.toString(q.shape())
                    + " (batch and head_dim must match)");
        if (!Arrays.equals(v.shape(), k.shape()))
            throw new IllegalArgumentException("v is " + Arrays.toString(v.shape()) + " but k is " + Arrays.toString(k.shape()));
        if (qHeads % kvHeads != 0)
            throw new IllegalArgumentException("k/v heads (" + kvHeads + ") must divide q heads (" + qHeads + ")");
        if (headDim > MAX_HEAD_DIM)
            throw new IllegalArgumentException("head_dim must be <= " + MAX_HEAD_DIM + ", got " + headDim);
        int[] lens = options.keyLengths();
        if (lens != null) {
            if (lens.length != batch)
                throw new IllegalArgumentException("keyLengths has " + lens.length + " entries but the batch is " + batch);
            for (int b = 0; b < lens.length; ++b)
                if (lens[b] < 1 || lens[b] > kvSeq)
                    throw new IllegalArgumentException("keyLengths[" + b + "] must be in [1, " + kvSeq + "], got " + lens[b]);
        }
        return new AttentionSpec(batch, qHeads, kvHeads, qSeq, kvSeq, headDim, options.scaleFor(headDim),
                options.causal(), options.dropout(), options.seed(), lens);
    }

    /** Validates the extra tensors of the backward: dout and out shaped like q, lse [batch, qHeads, qSeq]. */
    public void checkBackward(Backend backend, Tensor dout, Tensor out, Tensor lse) {
        check("dout", dout, backend);
        check("out", out, backend);
        Objects.requireNonNull(lse, "lse");
        lse.requireOpen("lse");
        long[] qShape = {batch, qHeads, qSeq, headDim};
        if (!Arrays.equals(dout.shape(), qShape))
            throw new IllegalArgumentException("dout is " + Arrays.toString(dout.shape()) + " but q is " + Arrays.toString(qShape));
        if (!Arrays.equals(out.shape(), qShape))
            throw new IllegalArgumentException("out is " + Arrays.toString(out.shape()) + " but q is " + Arrays.toString(qShape));
        if (!Arrays.equals(lse.shape(), new long[] {batch, qHeads, qSeq}))
            throw new IllegalArgumentException("lse is " + Arrays.toString(lse.shape()) + " but must be [" + batch + ", "
                    + qHeads + ", " + qSeq + "]");
    }

    /** The k/v head that q head {@code h} reads. */
    public long kvHead(long h) {
        return h / (qHeads / kvHeads);
    }

    /** The keys [0, keyEnd) that query i of batch entry b sees. */
    public long keyEnd(long b, long i) {
        long end = keyLengths == null ? kvSeq : keyLengths[(int) b];
        return causal ? Math.min(end, i + 1) : end;
    }

    /** Multiply-adds of the forward counted as 2 flops each (q k^T and p v over every key pair). */
    public double forwardFlops() {
        return 4.0 * batch * qHeads * qSeq * kvSeq * headDim;
    }

    private static void check(String name, Tensor t, Backend backend) {
        Objects.requireNonNull(t, name);
        t.requireOpen(name);
        if (t.rank() != 4)
            throw new IllegalArgumentException(name + " must be [batch, heads, seq, head_dim] (rank 4), got shape "
                    + Arrays.toString(t.shape()));
        for (int d = 0; d < 4; ++d)
            if (t.size(d) < 1) throw new IllegalArgumentException(name + " has an empty dimension: " + Arrays.toString(t.shape()));
        if (!t.device().equals(backend.device()))
            throw new IllegalArgumentException(name + " is on " + t.device() + " but backend " + backend.name()
                    + " computes on " + backend.device());
    }
}
