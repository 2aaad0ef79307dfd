package org.deepkern.nn;

import org.deepkern.Tensor;

/** Average pooling (padding excluded from the average): [N, C, H, W] -> [N, C, (H + 2 padding - kernel) / stride + 1, ...]. */
public final class AvgPool2d extends Module {
    private final int kernel, stride, padding;

    public AvgPool2d(int kernel, int stride, int padding) {
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
    }

    /** kernel x kernel windows with stride = kernel, no padding (kernel = H = W: global average pooling). */
    public AvgPool2d(int kernel) {
        this(kernel, kernel, 0);
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.avgPool2d(x, kernel, stride, padding);
    }

    @Override
    protected String describe() {
        return "AvgPool2d(" + kernel + ", stride " + stride + ", padding " + padding + ")";
    }
}
