package org.deepkern.ops;

/**
 * Softmax (or log-softmax) over the last dimension of a dense tensor viewed as rows x cols.
 *
 * @param rows the product of all dimensions but the last
 * @param cols the last dimension
 * @param log  log-softmax instead of softmax
 */
public record SoftmaxSpec(long rows, long cols, boolean log) {
    public SoftmaxSpec {
        if (rows < 0 || cols < 0) throw new IllegalArgumentException("softmax: rows and cols must be >= 0, got " + rows + " x " + cols);
    }
}
