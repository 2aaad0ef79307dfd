package org.deepkern.nn;

import org.deepkern.Tensor;

/** Global average pooling: [N, C, H, W] -> [N, C, 1, 1], the mean of each channel's plane. */
public final class GlobalAvgPool2d extends Module {
    @Override
    public Tensor forward(Tensor x) {
        return Functional.globalAvgPool2d(x);
    }

    @Override
    protected String describe() {
        return "GlobalAvgPool2d()";
    }
}
