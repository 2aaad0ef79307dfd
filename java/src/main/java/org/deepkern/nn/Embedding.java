package org.deepkern.nn;

import org.deepkern.Tensor;

import java.util.SplittableRandom;

/** A lookup table: indices [N] (integers in [0, vocab) stored as floats) -> [N, dim]; table [vocab, dim] ~ N(0, 1). */
public final class Embedding extends Module {
    private final Tensor table;
    private final long vocab, dim;

    public Embedding(long vocab, long dim, long seed) {
        if (vocab < 1 || dim < 1) throw new IllegalArgumentException("Embedding needs vocab, dim >= 1, got " + vocab + ", " + dim);
        this.vocab = vocab;
        this.dim = dim;
        table = addParameter("weight", owned(() -> Tensor.empty(vocab, dim)));
        Initializer.smallRandom(1.0).fill(table, vocab, dim, new SplittableRandom(seed));
    }

    @Override
    public Tensor forward(Tensor indices) {
        return Functional.embedding(indices, table);
    }

    @Override
    protected String describe() {
        return "Embedding(" + vocab + ", " + dim + ")";
    }
}
