package org.deepkern.nn;

import org.deepkern.Tensor;

/**
 * Inverted dropout (any shape -> the same shape): in training each element is zeroed with
 * probability p and the others scaled by 1 / (1 - p); the identity in evaluation. Masks are
 * seeded: call i of forward uses seed + i, so runs repeat exactly.
 */
public final class Dropout extends Module {
    private final float p;
    private final long seed;
    private long calls;

    public Dropout(float p, long seed) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("Dropout p must be in [0, 1), got " + p);
        this.p = p;
        this.seed = seed;
    }

    @Override
    public Tensor forward(Tensor x) {
        if (!isTraining()) return x;
        return Functional.dropout(x, p, seed * 0x9E3779B97F4A7C15L + calls++, true);
    }

    @Override
    protected String describe() {
        return "Dropout(" + p + ")";
    }
}
