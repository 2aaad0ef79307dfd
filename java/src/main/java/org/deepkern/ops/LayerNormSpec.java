package org.deepkern.ops;

import org.deepkern.Tensor;

import java.util.Arrays;

/** Layer normalization of each row of x viewed as [rows, cols] (cols = the last dimension). */
public record LayerNormSpec(long rows, long cols, float eps) {
    public LayerNormSpec {
        if (!(eps > 0)) throw new IllegalArgumentException("layer norm: eps must be > 0, got " + eps);
    }

    public static LayerNormSpec of(Tensor x, long features, float eps) {
        if (x.rank() < 1 || x.size(-1) != features)
            throw new IllegalArgumentException("layer norm over " + features + " features expects [..., " + features + "], got "
                    + Arrays.toString(x.shape()));
        return new LayerNormSpec(x.numel() / Math.max(1, features), features, eps);
    }
}
