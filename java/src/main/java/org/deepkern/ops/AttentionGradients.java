package org.deepkern.ops;

import org.deepkern.Tensor;

/** Gradients of attention: dq shaped like q, dk and dv like k and v. Closing it closes all three. */
public record AttentionGradients(Tensor dq, Tensor dk, Tensor dv) implements AutoCloseable {
    @Override
    public void close() {
        dq.close();
        dk.close();
        dv.close();
    }
}
