package org.deepkern.ops;

/** The elementwise binary ops of {@code dk_binary}. */
public enum BinaryOp {
    ADD, SUB, MUL;

    public float apply(float a, float b) {
        return switch (this) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
        };
    }
}
