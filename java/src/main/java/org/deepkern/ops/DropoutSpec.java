package org.deepkern.ops;

/**
 * An inverted-dropout mask of n elements: 0 with probability p, else 1 / (1 - p). Element i's
 * draw is splitmix64(seed, i) (see {@link #uniform}), the same function the native kernels use,
 * so every backend draws the same mask from the same seed.
 */
public record DropoutSpec(long n, float p, long seed) {
    public DropoutSpec {
        if (n < 0) throw new IllegalArgumentException("dropout: n must be >= 0, got " + n);
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("dropout: p must be in [0, 1), got " + p);
    }

    /** The draw in [0, 1) for element i (24 bits of splitmix64). */
    public static float uniform(long seed, long i) {
        long z = seed + (i + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return (z >>> 40) * (1.0f / 16777216.0f);
    }
}
