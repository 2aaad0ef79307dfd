package org.deepkern.ops;

/**
 * The activation a fused matmul epilogue applies ({@link Ops#linear}), with its derivative for
 * the backward pass. GELU is the tanh form, {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))},
 * the same on every backend (oneDNN's {@code eltwise_gelu_tanh}). The elementwise GELU layer
 * ({@link Activation#GELU}) is the exact erf form; the two differ by at most about 1e-3.
 */
public enum Epilogue {
    NONE(0), RELU(1), GELU(2);

    private static final double SQRT_2_OVER_PI = 0.7978845608028654, C = 0.044715;

    private final int code;

    Epilogue(int code) {
        this.code = code;
    }

    /** The native {@code dk_activation} value. */
    public int code() {
        return code;
    }

    /** act(z). */
    public float apply(float z) {
        return switch (this) {
            case NONE -> z;
            case RELU -> z > 0 ? z : 0;
            case GELU -> (float) (0.5 * z * (1 + Math.tanh(SQRT_2_OVER_PI * (z + C * z * z * z))));
        };
    }

    /** d act(z) / dz (ReLU: 0 at z = 0). */
    public float derivative(float z) {
        return switch (this) {
            case NONE -> 1;
            case RELU -> z > 0 ? 1 : 0;
            case GELU -> {
                double u = SQRT_2_OVER_PI * (z + C * z * z * z), t = Math.tanh(u);
                yield (float) (0.5 * (1 + t) + 0.5 * z * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * C * z * z));
            }
        };
    }
}
