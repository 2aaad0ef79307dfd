package org.deepkern;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One recorded op of the autograd tape: its inputs and its backward rule, written next to the
 * forward in {@link org.deepkern.nn.Functional}. {@link #backward(Tensor)} receives the
 * gradient of the op's output and returns one gradient per input (null for inputs that do not
 * require one). Tensors the forward computed only for the backward (softmax probabilities,
 * batch statistics, a dropout mask) are {@link #own owned} by the node and freed as soon as the
 * backward has run, so the tape's memory is released deterministically.
 */
public abstract class GradFn {
    private final String name;
    private final Tensor[] inputs;
    private final List<Tensor> owned = new ArrayList<>();

    protected GradFn(String name, Tensor... inputs) {
        this.name = Objects.requireNonNull(name, "name");
        this.inputs = inputs.clone();
    }

    /** The op's name (for messages). */
    public final String name() {
        return name;
    }

    /** The op's inputs, in the order {@link #backward} returns their gradients. */
    public final List<Tensor> inputs() {
        return Arrays.asList(inputs);
    }

    /** Whether input {@code i} needs a gradient (backward rules skip the others). */
    public final boolean needsGrad(int i) {
        return inputs[i] != null && inputs[i].requiresGrad();
    }

    /** Hands {@code t} to this node: it is freed after the backward (or with the graph). Returns t. */
    public final Tensor own(Tensor t) {
        owned.add(t);
        return t;
    }

    /** The gradients of the inputs, given the gradient of the output; null entries for inputs without one. */
    protected abstract Tensor[] backward(Tensor gradOutput);

    final Tensor[] inputsArray() {
        return inputs;
    }

    /** Frees the owned tensors. */
    final void release() {
        for (Tensor t : owned) t.close();
        owned.clear();
    }

    /** A node whose backward is {@code rule}. */
    public static GradFn of(String name, Rule rule, Tensor... inputs) {
        return new GradFn(name, inputs) {
            @Override
            protected Tensor[] backward(Tensor gradOutput) {
                return rule.apply(this, gradOutput);
            }
        };
    }

    /** A backward rule: the node (for {@link #needsGrad}) and the output's gradient. */
    @FunctionalInterface
    public interface Rule {
        Tensor[] apply(GradFn node, Tensor gradOutput);
    }

    @Override
    public String toString() {
        return name;
    }
}
