package org.deepkern.nn;

import org.deepkern.Tensor;

/** Layer normalization over the last dimension: [..., F] -> [..., F], with gamma and beta [F]. */
public final class LayerNorm extends Module {
    private final Tensor gamma, beta;
    private final long features;
    private final float eps;

    public LayerNorm(long features) {
        this(features, 1e-5f);
    }

    public LayerNorm(long features, float eps) {
        if (features < 1) throw new IllegalArgumentException("LayerNorm needs features >= 1, got " + features);
        this.features = features;
        this.eps = eps;
        gamma = addParameter("weight", owned(() -> Tensor.zeros(features).fill(1.0f)));
        beta = addParameter("bias", owned(() -> Tensor.zeros(features)));
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.layerNorm(x, gamma, beta, eps);
    }

    @Override
    protected String describe() {
        return "LayerNorm(" + features + ")";
    }
}
