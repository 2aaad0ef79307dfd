package org.deepkern.ops;

import org.deepkern.Tensor;

import java.util.Arrays;

/** Embedding lookup: indices [n] (class indices as floats) into table [vocab, dim] gives [n, dim]. */
public record EmbeddingSpec(long n, long vocab, long dim) {
    public static EmbeddingSpec of(Tensor indices, Tensor table) {
        if (table.rank() != 2) throw new IllegalArgumentException("embedding: table must be [vocab, dim], got " + Arrays.toString(table.shape()));
        if (indices.rank() != 1) throw new IllegalArgumentException("embedding: indices must be [n], got " + Arrays.toString(indices.shape()));
        return new EmbeddingSpec(indices.size(0), table.size(0), table.size(1));
    }
}
