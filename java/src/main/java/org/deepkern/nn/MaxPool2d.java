package org.deepkern.nn;

import org.deepkern.Tensor;

/** Max pooling: [N, C, H, W] -> [N, C, (H + 2 padding - kernel) / stride + 1, ...]. */
public final class MaxPool2d extends Module {
    private final int kernel, stride, padding;

    /** A window of kernel x kernel moved by stride, padding on each side. */
    public MaxPool2d(int kernel, int stride, int padding) {
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
    }

    /** kernel x kernel windows with stride = kernel, no padding. */
    public MaxPool2d(int kernel) {
        this(kernel, kernel, 0);
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.maxPool2d(x, kernel, stride, padding);
    }

    @Override
    protected String describe() {
        return "MaxPool2d(" + kernel + ", stride " + stride + ", padding " + padding + ")";
    }
}
