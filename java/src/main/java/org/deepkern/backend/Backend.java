package org.deepkern.backend;

import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.AttentionSpec;
import org.deepkern.ops.MatmulSpec;

/**
 * One way of running the operations: {@code java} (the plain-Java reference), {@code native}
 * (deepkern's C++ kernels), {@code onednn} (oneDNN) or {@code cuda} (deepkern's CUDA kernels).
 * Backends are found with {@link java.util.ServiceLoader}; pick one with {@link Backends}.
 *
 * <p>Operations validate their arguments once, in the op's shape function (e.g.
 * {@link MatmulSpec}), and then call the backend's kernel hook with the validated spec.
 */
public abstract class Backend {
    /** The backend's name: java, native, onednn or cuda. */
    public abstract String name();

    /** The device whose tensors this backend computes on. */
    public abstract Device device();

    /** Whether this backend can run here; computed once. */
    public abstract Availability availability();

    public final boolean isAvailable() {
        return availability().available();
    }

    /** Throws {@link BackendUnavailableException} with the reason when this backend cannot run here. */
    public final void requireAvailable() {
        Availability a = availability();
        if (!a.available()) throw new BackendUnavailableException("backend " + name() + " is unavailable: " + a.reason());
    }

    // ---- kernel hooks: arguments are validated by the op's shape function ----

    /**
     * C = alpha * op(A) * op(B) + beta * C for 2-D tensors described by {@code spec}; beta = 0
     * overwrites C without reading it.
     */
    public abstract void matmul(MatmulSpec spec, Tensor c, Tensor a, Tensor b);

    /** The name of the implementation this backend would run for {@code spec} (for tests and reports). */
    public String matmulImplementation(MatmulSpec spec) {
        return name();
    }

    // ---- batched matmul with a fused epilogue (issue 3: Ops.batchedMatmul, Ops.linear) ----

    /**
     * c[i] = act(alpha * op(a[i]) * op(b[i]) + beta * c[i] + bias) for i in [0, spec.batch()), as
     * validated by {@link org.deepkern.ops.BatchedMatmulSpec}: operands need no copy, bias is
     * {@code [n]} or null. beta = 0 overwrites c without reading it.
     */
    public abstract void matmulBatched(org.deepkern.ops.BatchedMatmulSpec spec, Tensor c, Tensor a, Tensor b, Tensor bias);

    // ---- attention (issue 5): arguments validated by AttentionSpec; tensors contiguous ----

    /**
     * out = softmax(q k^T * scale + mask) v (dropout applied), overwriting out [batch, qHeads,
     * qSeq, headDim] and, when not null, lse [batch, qHeads, qSeq].
     */
    public void attentionForward(AttentionSpec spec, Tensor out, Tensor lse, Tensor q, Tensor k, Tensor v) {
        throw new UnsupportedOperationException("backend " + name() + " has no attention");
    }

    /** Overwrites dq, dk, dv with the gradients of attention given dout and the forward's out and lse. */
    public void attentionBackward(AttentionSpec spec, Tensor dq, Tensor dk, Tensor dv, Tensor dout, Tensor q, Tensor k,
                                  Tensor v, Tensor out, Tensor lse) {
        throw new UnsupportedOperationException("backend " + name() + " has no attention");
    }

    /** The name of the attention implementation this backend would run for {@code spec}. */
    public String attentionImplementation(AttentionSpec spec) {
        return name();
    }

    @Override
    public String toString() {
        return name();
    }
}
