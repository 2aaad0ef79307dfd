package org.deepkern.nn;

import org.deepkern.Tensor;

import java.util.SplittableRandom;

/**
 * Fills a weight tensor from its fan-in and fan-out with a seeded generator. Fan-in of a linear
 * weight [out, in] is in; of a conv weight [O, C, KH, KW] it is C * KH * KW (fan-out O * KH * KW).
 */
@FunctionalInterface
public interface Initializer {
    void fill(Tensor t, long fanIn, long fanOut, SplittableRandom rng);

    /** Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fanIn + fanOut)); for tanh and sigmoid layers. */
    static Initializer xavierUniform() {
        return (t, in, out, rng) -> uniform(t, Math.sqrt(6.0 / (in + out)), rng);
    }

    /** Glorot/Xavier normal: N(0, 2 / (fanIn + fanOut)). */
    static Initializer xavierNormal() {
        return (t, in, out, rng) -> normal(t, Math.sqrt(2.0 / (in + out)), rng);
    }

    /** He/Kaiming normal for ReLU layers: N(0, 2 / fanIn). */
    static Initializer heNormal() {
        return (t, in, out, rng) -> normal(t, Math.sqrt(2.0 / in), rng);
    }

    /** He/Kaiming uniform: U(-a, a), a = sqrt(6 / fanIn). */
    static Initializer heUniform() {
        return (t, in, out, rng) -> uniform(t, Math.sqrt(6.0 / in), rng);
    }

    /** Small random values: N(0, std^2) (the classic 0.01). */
    static Initializer smallRandom(double std) {
        return (t, in, out, rng) -> normal(t, std, rng);
    }

    /** Every element = value (zeros for biases, ones for batch norm's gamma). */
    static Initializer constant(float value) {
        return (t, in, out, rng) -> t.fill(value);
    }

    private static void uniform(Tensor t, double a, SplittableRandom rng) {
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; ++i) v[i] = (float) ((rng.nextDouble() * 2 - 1) * a);
        t.storageBuffer().put((int) t.storageOffset(), v);
    }

    private static void normal(Tensor t, double std, SplittableRandom rng) {
        float[] v = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < v.length; i += 2) { // Box-Muller
            double u1 = 1.0 - rng.nextDouble(), u2 = rng.nextDouble(), r = Math.sqrt(-2 * Math.log(u1));
            v[i] = (float) (std * r * Math.cos(2 * Math.PI * u2));
            if (i + 1 < v.length) v[i + 1] = (float) (std * r * Math.sin(2 * Math.PI * u2));
        }
        t.storageBuffer().put((int) t.storageOffset(), v);
    }
}
