package org.deepkern.nn;

import org.deepkern.Tensor;

/** [N, d1, d2, ...] -> [N, d1 * d2 * ...]. */
public final class Flatten extends Module {
    @Override
    public Tensor forward(Tensor x) {
        return Functional.flatten(x);
    }
}
