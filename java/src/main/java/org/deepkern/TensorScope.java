package org.deepkern;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;

/**
 * Frees every tensor created inside it, on the same thread, when it closes:
 *
 * <pre>{@code
 * Tensor kept;
 * try (TensorScope scope = TensorScope.open()) {
 *     Tensor a = Tensor.rand(1, 256, 256), b = Tensor.rand(2, 256, 256);
 *     kept = scope.keep(Ops.matmul(a, b));   // survives the scope
 * }                                          // a and b are freed here
 * }</pre>
 *
 * Scopes nest; a kept tensor moves to the enclosing scope, or to none (the caller then owns it).
 */
public final class TensorScope implements AutoCloseable {
    private static final ThreadLocal<Deque<TensorScope>> STACK = ThreadLocal.withInitial(ArrayDeque::new);

    private final List<Tensor> tensors = new ArrayList<>();
    private final Thread owner = Thread.currentThread();
    private boolean closed;

    private TensorScope() {}

    /** Opens a scope on the current thread. */
    public static TensorScope open() {
        TensorScope s = new TensorScope();
        STACK.get().push(s);
        return s;
    }

    static void registerInCurrent(Tensor t) {
        TensorScope s = STACK.get().peek();
        if (s != null) s.tensors.add(t);
    }

    /**
     * Runs {@code body} with no scope open on this thread, so that the tensors it creates belong
     * to the caller rather than to an enclosing scope: model parameters, gradients of leaves,
     * optimizer state. The scopes are restored afterwards, also when {@code body} throws.
     */
    public static <T> T unscoped(java.util.function.Supplier<T> body) {
        Objects.requireNonNull(body, "body");
        Deque<TensorScope> saved = STACK.get();
        STACK.set(new ArrayDeque<>());
        try {
            return body.get();
        } finally {
            STACK.set(saved);
        }
    }

    /** Moves {@code t} out of this scope into the enclosing one (or none); returns it. */
    public Tensor keep(Tensor t) {
        Objects.requireNonNull(t, "t");
        if (!tensors.remove(t)) throw new IllegalArgumentException(t + " was not created in this scope");
        Deque<TensorScope> stack = STACK.get();
        boolean found = false;
        for (TensorScope s : stack) {
            if (found) {
                s.tensors.add(t);
                break;
            }
            found = s == this;
        }
        return t;
    }

    /** The number of tensors this scope will free. */
    public int size() {
        return tensors.size();
    }

    /** Closes every tensor created in this scope and not kept, newest first. */
    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != owner)
            throw new IllegalStateException("a TensorScope must be closed on the thread that opened it");
        closed = true;
        Deque<TensorScope> stack = STACK.get();
        if (stack.peek() != this) throw new IllegalStateException("TensorScopes must be closed in reverse order of opening");
        stack.pop();
        for (int i = tensors.size() - 1; i >= 0; --i) tensors.get(i).close();
        tensors.clear();
    }
}
