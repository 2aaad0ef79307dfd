package org.deepkern.ops;

/** The elementwise functions of {@code dk_eltwise_forward/backward}: f and f', in double like the native reference. */
public enum Activation {
    /** max(x, 0) */
    RELU,
    /** x > 0 ? x : alpha * x */
    LEAKY_RELU,
    /** 1 / (1 + exp(-x)) */
    SIGMOID,
    TANH,
    /** x * Phi(x), the exact (erf) form */
    GELU,
    /** log(1 + exp(x)), without overflow */
    SOFTPLUS;

    public double forward(double x, double alpha) {
        return switch (this) {
            case RELU -> x > 0 ? x : 0.0;
            case LEAKY_RELU -> x > 0 ? x : alpha * x;
            case SIGMOID -> sigmoid(x);
            case TANH -> Math.tanh(x);
            case GELU -> 0.5 * x * (1.0 + erf(x / Math.sqrt(2.0)));
            case SOFTPLUS -> Math.max(x, 0.0) + Math.log1p(Math.exp(-Math.abs(x)));
        };
    }

    public double derivative(double x, double alpha) {
        return switch (this) {
            case RELU -> x > 0 ? 1.0 : 0.0;
            case LEAKY_RELU -> x > 0 ? 1.0 : alpha;
            case SIGMOID -> sigmoid(x) * (1.0 - sigmoid(x));
            case TANH -> 1.0 - Math.tanh(x) * Math.tanh(x);
            case GELU -> 0.5 * (1.0 + erf(x / Math.sqrt(2.0))) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2.0 * Math.PI);
            case SOFTPLUS -> sigmoid(x);
        };
    }

    static double sigmoid(double x) {
        return x >= 0 ? 1.0 / (1.0 + Math.exp(-x)) : Math.exp(x) / (1.0 + Math.exp(x));
    }

    /**
     * erf(x) from Numerical Recipes' erfc Chebyshev fit (fractional error below 1.2e-7 everywhere),
     * well under fp32 resolution; the native kernels use std::erf.
     */
    static double erf(double x) {
        double z = Math.abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double erfc = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
                + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
                + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1.0 - erfc : erfc - 1.0;
    }
}
