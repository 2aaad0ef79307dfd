package org.deepkern.nn;

import org.deepkern.Tensor;

import java.util.function.UnaryOperator;

/** Activation layers (any shape -> the same shape): ReLU, LeakyReLU, sigmoid, tanh, GELU. */
public final class Activations {
    private Activations() {}

    public static Module relu() {
        return new Fn("ReLU", Functional::relu);
    }

    public static Module leakyRelu(float slope) {
        return new Fn("LeakyReLU(" + slope + ")", x -> Functional.leakyRelu(x, slope));
    }

    public static Module sigmoid() {
        return new Fn("Sigmoid", Functional::sigmoid);
    }

    public static Module tanh() {
        return new Fn("Tanh", Functional::tanh);
    }

    public static Module gelu() {
        return new Fn("GELU", Functional::gelu);
    }

    private static final class Fn extends Module {
        private final String name;
        private final UnaryOperator<Tensor> f;

        Fn(String name, UnaryOperator<Tensor> f) {
            this.name = name;
            this.f = f;
        }

        @Override
        public Tensor forward(Tensor x) {
            return f.apply(x);
        }

        @Override
        protected String describe() {
            return name;
        }
    }
}
