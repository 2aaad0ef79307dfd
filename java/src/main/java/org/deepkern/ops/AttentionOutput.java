package org.deepkern.ops;

import org.deepkern.Tensor;

/**
 * The forward result of attention for training: {@code out} [batch, qHeads, qSeq, headDim] and
 * {@code lse} [batch, qHeads, qSeq], each row's log-sum-exp, which the backward needs. Closing it
 * closes both.
 */
public record AttentionOutput(Tensor out, Tensor lse) implements AutoCloseable {
    @Override
    public void close() {
        out.close();
        lse.close();
    }
}
