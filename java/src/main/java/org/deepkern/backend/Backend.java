package org.deepkern.backend;

import org.deepkern.Device;
import org.deepkern.Tensor;
import org.deepkern.ops.AttentionSpec;
import org.deepkern.ops.BatchNormSpec;
import org.deepkern.ops.BinaryOp;
import org.deepkern.ops.Conv2dSpec;
import org.deepkern.ops.CrossEntropySpec;
import org.deepkern.ops.DropoutSpec;
import org.deepkern.ops.EltwiseSpec;
import org.deepkern.ops.EmbeddingSpec;
import org.deepkern.ops.LayerNormSpec;
import org.deepkern.ops.MatmulSpec;
import org.deepkern.ops.NdSpec;
import org.deepkern.ops.OptimizerSpec;
import org.deepkern.ops.Pool2dSpec;
import org.deepkern.ops.SoftmaxSpec;

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

    // ---- training kernel hooks (issue 6). Arguments are validated by the op's shape function
    // (org.deepkern.ops.*Spec); tensors other than the NdSpec ones are dense (contiguous).
    // Each hook overwrites its outputs unless it says otherwise. ----

    /** out = a op b with broadcasting (zero strides in the spec); out may be a itself (in place). */
    public abstract void binary(BinaryOp op, NdSpec spec, Tensor out, Tensor a, Tensor b);

    /** out = alpha * (a summed over the spec's zero output strides) + beta * out (beta = 0 overwrites). */
    public abstract void reduceSum(NdSpec spec, float alpha, float beta, Tensor out, Tensor a);

    /** out = a, strided. */
    public abstract void copy(NdSpec spec, Tensor out, Tensor a);

    /** y = f(x); y may be x. */
    public abstract void eltwiseForward(EltwiseSpec spec, Tensor y, Tensor x);

    /** dx = dy * f'(x). */
    public abstract void eltwiseBackward(EltwiseSpec spec, Tensor dx, Tensor dy, Tensor x);

    public abstract void softmaxForward(SoftmaxSpec spec, Tensor y, Tensor x);

    /** dx from dy and the forward output y. */
    public abstract void softmaxBackward(SoftmaxSpec spec, Tensor dx, Tensor dy, Tensor y);

    /** loss [1] = mean cross-entropy, probs = softmax(logits); labels out of range throw IllegalArgumentException. */
    public abstract void crossEntropyForward(CrossEntropySpec spec, Tensor loss, Tensor probs, Tensor logits, Tensor labels);

    /** dlogits = dloss * (probs - target) / n. */
    public abstract void crossEntropyBackward(CrossEntropySpec spec, float dloss, Tensor dlogits, Tensor probs, Tensor labels);

    /** Training: saveMean/saveInvstd written, running statistics updated in place; inference: save* unused (may be null). */
    public abstract void batchNormForward(BatchNormSpec spec, Tensor y, Tensor saveMean, Tensor saveInvstd,
                                          Tensor runningMean, Tensor runningVar, Tensor x, Tensor gamma, Tensor beta);

    public abstract void batchNormBackward(BatchNormSpec spec, Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x,
                                           Tensor gamma, Tensor saveMean, Tensor saveInvstd);

    public abstract void layerNormForward(LayerNormSpec spec, Tensor y, Tensor saveMean, Tensor saveInvstd, Tensor x,
                                          Tensor gamma, Tensor beta);

    public abstract void layerNormBackward(LayerNormSpec spec, Tensor dx, Tensor dgamma, Tensor dbeta, Tensor dy, Tensor x,
                                           Tensor gamma, Tensor saveMean, Tensor saveInvstd);

    public abstract void pool2dForward(Pool2dSpec spec, Tensor y, Tensor x);

    /** dx from dy and the forward input x (max: to the first maximum of each window). */
    public abstract void pool2dBackward(Pool2dSpec spec, Tensor dx, Tensor dy, Tensor x);

    /**
     * Max pooling keeping the argmax: y and indices, both [n, c, outH, outW]; indices hold int32
     * positions iy * w + ix within each input plane, stored as raw 4-byte elements of a float tensor
     * (never read as floats).
     */
    public abstract void maxPool2dForwardIndices(Pool2dSpec spec, Tensor y, Tensor indices, Tensor x);

    /** dx (overwritten) = dy scattered to the positions of {@link #maxPool2dForwardIndices}'s indices. */
    public abstract void maxPool2dBackwardIndices(Pool2dSpec spec, Tensor dx, Tensor dy, Tensor indices);

    /** y = conv(x, w) + bias (bias may be null). */
    public abstract void conv2dForward(Conv2dSpec spec, Tensor y, Tensor x, Tensor w, Tensor bias);

    public abstract void conv2dBackwardData(Conv2dSpec spec, Tensor dx, Tensor dy, Tensor w);

    /** dw and dbias (dbias may be null). */
    public abstract void conv2dBackwardWeights(Conv2dSpec spec, Tensor dw, Tensor dbias, Tensor dy, Tensor x);

    public abstract void embeddingForward(EmbeddingSpec spec, Tensor y, Tensor table, Tensor indices);

    /** dtable = the rows of dy summed per index. */
    public abstract void embeddingBackward(EmbeddingSpec spec, Tensor dtable, Tensor dy, Tensor indices);

    public abstract void dropoutMask(DropoutSpec spec, Tensor mask);

    /** One fused update of param in place; state1/state2 may be null when the algorithm does not use them. */
    public abstract void optimizerStep(OptimizerSpec spec, Tensor param, Tensor state1, Tensor state2, Tensor grad);

    @Override
    public String toString() {
        return name();
    }
}
