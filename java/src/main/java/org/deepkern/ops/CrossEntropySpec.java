package org.deepkern.ops;

import org.deepkern.Tensor;

import java.util.Arrays;

/**
 * Fused softmax cross-entropy, the mean over a batch: logits [n, classes], labels [n] holding
 * class indices (as floats), target distribution (1 - smoothing) * onehot + smoothing / classes.
 * Labels are checked by the kernels (an out-of-range or non-integer label fails naming its
 * position) because only they read the data.
 */
public record CrossEntropySpec(long n, long classes, float smoothing) {
    public CrossEntropySpec {
        if (n < 0) throw new IllegalArgumentException("cross-entropy: n must be >= 0, got " + n);
        if (classes < 1) throw new IllegalArgumentException("cross-entropy: classes must be >= 1, got " + classes);
        if (!(smoothing >= 0 && smoothing < 1)) throw new IllegalArgumentException("label smoothing must be in [0, 1), got " + smoothing);
    }

    public static CrossEntropySpec of(Tensor logits, Tensor labels, float smoothing) {
        if (logits.rank() != 2)
            throw new IllegalArgumentException("cross-entropy: logits must be [batch, classes], got " + Arrays.toString(logits.shape()));
        if (labels.rank() != 1 || labels.size(0) != logits.size(0))
            throw new IllegalArgumentException("cross-entropy: labels must be [" + logits.size(0) + "] (one class index per row of logits "
                    + Arrays.toString(logits.shape()) + "), got " + Arrays.toString(labels.shape()));
        return new CrossEntropySpec(logits.size(0), logits.size(1), smoothing);
    }
}
