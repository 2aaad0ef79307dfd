package org.deepkern.nn;

import org.deepkern.Autograd;
import org.deepkern.Tensor;
import org.deepkern.TensorScope;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A layer or a network of layers: named parameters (trained), named buffers (state that is saved
 * but not trained, such as batch norm's running statistics) and named child modules.
 *
 * <p>Parameters and buffers are owned by the module, outside any {@link TensorScope}, and freed
 * by {@link #close()} (which closes the children too). Names are dotted paths in
 * {@link #namedParameters()} and {@link #stateDict()} ({@code "0.weight"}, {@code "3.bn1.running_mean"}),
 * the keys a safetensors file stores.
 *
 * <p>A module starts in training mode; {@link #eval()} switches dropout off and batch norm to its
 * running statistics.
 */
public abstract class Module implements AutoCloseable {
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;
    private boolean closed;

    /** The forward pass; shapes are stated by each layer. */
    public abstract Tensor forward(Tensor x);

    /** Creates a tensor owned by the caller rather than by an open scope (for parameters and buffers). */
    protected static Tensor owned(Supplier<Tensor> create) {
        return TensorScope.unscoped(create);
    }

    /** Registers {@code t} as a trainable parameter (it is marked requiresGrad); returns it. */
    protected final Tensor addParameter(String name, Tensor t) {
        checkName(name);
        parameters.put(name, t.requiresGrad(true));
        return t;
    }

    /** Registers {@code t} as a buffer: saved and loaded, never trained. */
    protected final Tensor addBuffer(String name, Tensor t) {
        checkName(name);
        buffers.put(name, t);
        return t;
    }

    /** Registers a child module; returns it. */
    protected final <M extends Module> M addChild(String name, M child) {
        checkName(name);
        children.put(name, Objects.requireNonNull(child, "child"));
        return child;
    }

    private void checkName(String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty() || name.contains(".")) throw new IllegalArgumentException("bad name '" + name + "'");
        if (parameters.containsKey(name) || buffers.containsKey(name) || children.containsKey(name))
            throw new IllegalArgumentException("name '" + name + "' is already used in " + getClass().getSimpleName());
    }

    /** Child modules by name, in registration order. */
    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** Every trainable parameter, by dotted path, in registration order. */
    public final Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, false);
        return out;
    }

    /** Every trainable parameter. */
    public final List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Parameters and buffers by dotted path: what {@link org.deepkern.io.SafeTensors} saves. */
    public final Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, true);
        return out;
    }

    private void collect(String prefix, Map<String, Tensor> out, boolean withBuffers) {
        for (var e : parameters.entrySet()) out.put(prefix + e.getKey(), e.getValue());
        if (withBuffers) for (var e : buffers.entrySet()) out.put(prefix + e.getKey(), e.getValue());
        for (var e : children.entrySet()) e.getValue().collect(prefix + e.getKey() + ".", out, withBuffers);
    }

    /**
     * Copies values into this module's parameters and buffers. Every name of {@link #stateDict()}
     * must be present with the same shape, and no other name; otherwise IllegalArgumentException
     * naming the tensor, before anything is copied.
     */
    public final void loadStateDict(Map<String, Tensor> state) {
        Map<String, Tensor> mine = stateDict();
        for (var e : mine.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src == null) throw new IllegalArgumentException("the state has no tensor '" + e.getKey() + "' (expected "
                    + Arrays.toString(e.getValue().shape()) + ")");
            if (!Arrays.equals(src.shape(), e.getValue().shape()))
                throw new IllegalArgumentException("tensor '" + e.getKey() + "' is " + Arrays.toString(src.shape()) + " but the model needs "
                        + Arrays.toString(e.getValue().shape()));
        }
        for (String k : state.keySet())
            if (!mine.containsKey(k)) throw new IllegalArgumentException("the state has a tensor '" + k + "' this model does not have");
        try (Autograd.NoGradScope ng = Autograd.noGrad()) {
            for (var e : mine.entrySet()) {
                Tensor dst = e.getValue();
                float[] v = state.get(e.getKey()).toArray();
                dst.storageBuffer().put((int) dst.storageOffset(), v);
            }
        }
    }

    /** Copies of every parameter and buffer value (for early stopping's best weights). */
    public final Map<String, float[]> snapshot() {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (var e : stateDict().entrySet()) out.put(e.getKey(), e.getValue().toArray());
        return out;
    }

    /** Restores values taken by {@link #snapshot()}. */
    public final void restore(Map<String, float[]> snapshot) {
        for (var e : stateDict().entrySet()) {
            float[] v = snapshot.get(e.getKey());
            if (v == null || v.length != e.getValue().numel())
                throw new IllegalArgumentException("the snapshot does not match tensor '" + e.getKey() + "'");
            e.getValue().storageBuffer().put((int) e.getValue().storageOffset(), v);
        }
    }

    /** The number of trainable scalars. */
    public final long parameterCount() {
        long n = 0;
        for (Tensor t : parameters()) n += t.numel();
        return n;
    }

    /** Frees the gradients of all parameters. */
    public final void clearGrads() {
        for (Tensor t : parameters()) t.clearGrad();
    }

    /** Sets training (true) or evaluation mode, recursively; returns this. */
    public Module train(boolean on) {
        training = on;
        for (Module m : children.values()) m.train(on);
        return this;
    }

    /** Evaluation mode: train(false). */
    public final Module eval() {
        return train(false);
    }

    public final boolean isTraining() {
        return training;
    }

    /** Frees parameters, buffers and children. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (Tensor t : parameters.values()) t.close();
        for (Tensor t : buffers.values()) t.close();
        for (Module m : children.values()) m.close();
    }

    /** A one-line description of this layer (its configuration). */
    protected String describe() {
        return getClass().getSimpleName();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        print(sb, "", "");
        return sb.toString();
    }

    private void print(StringBuilder sb, String indent, String name) {
        sb.append(indent).append(name.isEmpty() ? "" : name + ": ").append(describe()).append('\n');
        for (var e : children.entrySet()) e.getValue().print(sb, indent + "  ", e.getKey());
    }
}
