package org.deepkern.ops;

import org.deepkern.Tensor;

import java.util.Arrays;

/**
 * Batch normalization of x [n, c] or [n, c, h, w] per channel c (spatial = h * w, or 1).
 *
 * @param momentum running = (1 - momentum) * running + momentum * batch statistic
 * @param training batch statistics (and running ones updated) instead of the running ones
 */
public record BatchNormSpec(long n, long c, long spatial, float eps, float momentum, boolean training) {
    public BatchNormSpec {
        if (!(eps > 0)) throw new IllegalArgumentException("batch norm: eps must be > 0, got " + eps);
        if (!(momentum >= 0 && momentum <= 1)) throw new IllegalArgumentException("batch norm: momentum must be in [0, 1], got " + momentum);
        if (training && n * spatial < 2)
            throw new IllegalArgumentException("batch norm in training mode needs more than one value per channel (batch " + n + ")");
    }

    public static BatchNormSpec of(Tensor x, long channels, float eps, float momentum, boolean training) {
        if ((x.rank() != 2 && x.rank() != 4) || x.size(1) != channels)
            throw new IllegalArgumentException("batch norm over " + channels + " channels expects [batch, " + channels
                    + "] or [batch, " + channels + ", height, width], got " + Arrays.toString(x.shape()));
        long spatial = x.rank() == 4 ? x.size(2) * x.size(3) : 1;
        return new BatchNormSpec(x.size(0), channels, spatial, eps, momentum, training);
    }
}
