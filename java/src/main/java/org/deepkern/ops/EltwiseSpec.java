package org.deepkern.ops;

import java.util.Objects;

/**
 * An elementwise function over {@code n} dense elements.
 *
 * @param fn    the function
 * @param n     the number of elements
 * @param alpha LEAKY_RELU's negative slope; unused otherwise
 */
public record EltwiseSpec(Activation fn, long n, float alpha) {
    public EltwiseSpec {
        Objects.requireNonNull(fn, "fn");
        if (n < 0) throw new IllegalArgumentException("n must be >= 0, got " + n);
        if (!Float.isFinite(alpha)) throw new IllegalArgumentException("alpha must be finite, got " + alpha);
    }
}
