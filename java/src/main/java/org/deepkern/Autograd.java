package org.deepkern;

import org.deepkern.nn.Functional;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Reverse-mode automatic differentiation over a tape recorded by the ops.
 *
 * <p>Every op in {@link Functional} whose inputs require gradients {@link #record records} a
 * {@link GradFn} on its output. {@link Tensor#backward()} walks the graph from the output in
 * reverse topological order, hands each node the gradient of its output, sums the gradients
 * that reach a tensor along several paths, and accumulates into {@link Tensor#grad()} of the
 * leaves that require gradients (so gradients of several backward passes add up until
 * {@link Tensor#clearGrad()}). Intermediate gradients and the nodes' owned tensors are freed as
 * soon as they have been used; the graph cannot be walked twice.
 *
 * <p>Inside {@link #noGrad()} nothing is recorded (evaluation, optimizer updates).
 */
public final class Autograd {
    private static final ThreadLocal<int[]> NO_GRAD = ThreadLocal.withInitial(() -> new int[1]);

    private Autograd() {}

    /** Whether ops on this thread record the tape (false inside {@link #noGrad()}). */
    public static boolean isEnabled() {
        return NO_GRAD.get()[0] == 0;
    }

    /** Turns recording off on this thread until the returned scope closes; scopes nest. */
    public static NoGradScope noGrad() {
        NO_GRAD.get()[0]++;
        return new NoGradScope();
    }

    /** Closes a {@link #noGrad()} scope. */
    public static final class NoGradScope implements AutoCloseable {
        private boolean closed;

        private NoGradScope() {}

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            NO_GRAD.get()[0]--;
        }
    }

    /** True when an op on {@code inputs} must record a node: recording is on and an input requires gradients. */
    public static boolean needsRecording(Tensor... inputs) {
        if (!isEnabled()) return false;
        for (Tensor t : inputs)
            if (t != null && t.requiresGrad()) return true;
        return false;
    }

    /**
     * Attaches {@code fn} to {@code output} when {@link #needsRecording} holds for fn's inputs;
     * otherwise frees fn's owned tensors at once. Returns output.
     */
    public static Tensor record(Tensor output, GradFn fn) {
        if (needsRecording(fn.inputsArray())) output.setGradFn(fn);
        else fn.release();
        return output;
    }

    static void backward(Tensor root, Tensor seed) {
        root.requireOpen("tensor");
        if (!root.requiresGrad())
            throw new IllegalStateException("backward() on a tensor that does not require gradients: no input of the "
                    + "ops that made it requires them (call requiresGrad(true) on the parameters)");
        if (seed == null && root.numel() != 1)
            throw new IllegalArgumentException("backward() without a gradient needs a scalar, got shape "
                    + Arrays.toString(root.shape()) + "; pass the output's gradient");
        if (seed != null && !Arrays.equals(seed.shape(), root.shape()))
            throw new IllegalArgumentException("the seed gradient is " + Arrays.toString(seed.shape())
                    + " but the tensor is " + Arrays.toString(root.shape()));
        List<Tensor> order = topologicalOrder(root);
        try (NoGradScope noGrad = noGrad()) { // backward rules are not themselves recorded
            run(order, root, seed);
        }
    }

    private static void run(List<Tensor> order, Tensor root, Tensor seed) {
        Map<Tensor, Tensor> grads = new IdentityHashMap<>();
        grads.put(root, seed != null ? Functional.contiguousCopy(seed) : Tensor.of(new float[] {1.0f}, root.shape()));
        for (Tensor t : order) {
            Tensor g = grads.remove(t);
            if (g == null) continue;
            GradFn fn = t.gradFn();
            if (fn == null) {
                accumulateLeaf(t, g);
                continue;
            }
            Tensor[] inGrads;
            boolean gReturned = false;
            try {
                inGrads = fn.backward(g);
                for (Tensor gi : inGrads) gReturned |= gi == g;
            } finally {
                if (!gReturned) g.close();
            }
            Tensor[] inputs = fn.inputsArray();
            for (int i = 0; i < inputs.length; ++i) {
                Tensor gi = inGrads[i];
                if (gi == null) continue;
                for (int j = 0; j < i; ++j)
                    if (inGrads[j] == gi) gi = Functional.contiguousCopy(gi); // one tensor per input
                Tensor in = inputs[i];
                if (!in.requiresGrad()) {
                    gi.close();
                    continue;
                }
                if (!Arrays.equals(gi.shape(), in.shape()))
                    throw new IllegalStateException(fn.name() + " returned a gradient of shape " + Arrays.toString(gi.shape())
                            + " for an input of shape " + Arrays.toString(in.shape()));
                Tensor prev = grads.get(in);
                if (prev == null) grads.put(in, gi);
                else {
                    Functional.addInPlace(prev, gi);
                    gi.close();
                }
            }
            fn.release();
            t.setGradFn(null); // the graph is consumed; the tensor keeps its value
        }
        for (Tensor g : grads.values()) g.close();
    }

    private static void accumulateLeaf(Tensor leaf, Tensor g) {
        if (!leaf.requiresGrad()) {
            g.close();
            return;
        }
        if (leaf.grad() == null) {
            Tensor owned = TensorScope.unscoped(() -> Functional.contiguousCopy(g));
            g.close();
            leaf.setGrad(owned);
        } else {
            Functional.addInPlace(leaf.grad(), g);
            g.close();
        }
    }

    /** The tensors reachable from root through grad functions, root first, each after all its consumers. */
    private static List<Tensor> topologicalOrder(Tensor root) {
        List<Tensor> post = new ArrayList<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Object[]> stack = new ArrayDeque<>(); // {tensor, next input index}
        stack.push(new Object[] {root, 0});
        seen.add(root);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Tensor t = (Tensor) top[0];
            GradFn fn = t.gradFn();
            Tensor[] ins = fn == null ? new Tensor[0] : fn.inputsArray();
            int i = (Integer) top[1];
            if (i < ins.length) {
                top[1] = i + 1;
                Tensor in = ins[i];
                if (in != null && in.requiresGrad() && seen.add(Objects.requireNonNull(in))) stack.push(new Object[] {in, 0});
            } else {
                stack.pop();
                post.add(t);
            }
        }
        Collections.reverse(post);
        return post;
    }
}
